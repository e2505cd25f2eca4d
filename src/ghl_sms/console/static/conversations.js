// Conversations: the inbox, a thread, and a compose box that previews before it sends.
import { api, toast } from "./app.js";
import { h, replace, field, when, ticks, money } from "./dom.js";

function conversationItem(c, selected) {
  const unread = c.unread_count ? h("span", { class: "badge" }, `${c.unread_count} unread`) : null;
  return h("li", {},
    h("a", { href: `#/conversations/${encodeURIComponent(c.id)}`, class: "conv", "aria-current": selected ? "true" : null },
      h("strong", {}, c.contact_name || c.phone || c.contact_id), " ", unread,
      h("span", { class: "sub" }, c.phone || ""),
      h("span", { class: "sub" }, `${c.last_message_direction === "inbound" ? "↘ " : "↗ "}${c.last_message || ""}`)));
}

function message(m) {
  const failure = m.error_code ? h("p", { class: "failure" }, `Error ${m.error_code}: ${m.explanation || "carrier error"}. ${m.advice || ""}`) : null;
  return h("li", { class: `bubble ${m.direction === "outbound" ? "out" : "in"}`, dataset: { id: m.id, status: m.status || "" } },
    m.body ? h("p", { class: "body" }, m.body) : null,
    (m.attachments || []).map((url) => h("a", { href: url, class: "sub" }, `attachment: ${url}`)),
    failure,
    h("p", { class: "meta" }, h("time", {}, when(m.date_added)), m.direction === "outbound" ? ticks(m.status) : null));
}

// A fresh key per previewed text: a double click (or a retry) sends it once.
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function previewPanel(out) {
  const notes = (out.notes || []).map((n) => h("li", { class: n.level === "blocked" ? "blocked" : "warn" }, `${n.level === "blocked" ? "Blocked" : "Note"}: ${n.message}`));
  return [
    h("p", {}, h("strong", {}, out.verdict === "blocked" ? "Would be refused" : "Ready to send"),
      ` to ${out.contact_name || out.to || "the recipient"}${out.to ? ` (${out.to})` : ""}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Parts"), h("dd", {}, String(out.segments_with_footer || out.segments)),
      h("dt", {}, "Encoding"), h("dd", {}, out.encoding),
      h("dt", {}, "Type"), h("dd", {}, out.type || "SMS"),
      h("dt", {}, "Cost"), h("dd", {}, money(out.cost_estimate_usd))),
    notes.length ? h("ul", { class: "notes" }, notes) : null,
  ];
}

function composer(state) {
  const to = h("input", { type: "tel", autocomplete: "off", placeholder: "+14155550100" });
  const text = h("textarea", { rows: "4", maxlength: "1600" });
  const media = h("textarea", { rows: "2" });
  const transactional = h("input", { type: "checkbox" });
  const quiet = h("input", { type: "checkbox" });
  const preview = h("div", { class: "preview", "aria-live": "polite" }, "Type a text to see its preview.");
  const result = h("div", { class: "result", role: "status" });
  const button = h("button", { type: "submit", disabled: true }, "Send");
  let checked = null;  // the request the preview approved; Send sends exactly that
  let timer = null;
  const request = () => {
    const body = { text: text.value, media: media.value, transactional: transactional.checked, ignore_quiet_hours: quiet.checked };
    if (state.conversation) body.conversation_id = state.conversation;
    else body.to = to.value;
    return body;
  };
  const check = async () => {
    const body = request();
    button.disabled = true;
    checked = null;
    if (!body.text.trim() || (!body.conversation_id && !body.to.trim())) { replace(preview, "Type a text to see its preview."); return; }
    replace(preview, "Checking…");
    try {
      const out = await api("/api/preview", { method: "POST", body });
      replace(preview, previewPanel(out));
      checked = { ...body, idempotency_key: `console-${randomKey()}` };
      button.disabled = false;
    } catch (error) {
      replace(preview, h("p", { class: "blocked" }, h("strong", {}, "Refused: "), error.message),
        error.notes.length ? h("ul", { class: "notes" }, error.notes.map((n) => h("li", {}, `${n.code}: ${n.message}`))) : null);
    }
  };
  const later = () => { clearTimeout(timer); button.disabled = true; timer = setTimeout(check, 300); };
  for (const input of [to, text, media]) input.addEventListener("input", later);
  for (const input of [transactional, quiet]) input.addEventListener("change", later);
  const send = async (event) => {
    event.preventDefault();
    if (!checked) return;
    button.disabled = true;
    try {
      const out = await api("/api/send", { method: "POST", body: checked });
      replace(result, h("p", { class: "ok" }, `${out.outcome === "duplicate" ? "Already sent" : "Sent"}: message ${out.message_id} (${out.status || out.outcome}).`));
      text.value = "";
      checked = null;
      replace(preview, "Type a text to see its preview.");
      await state.refresh();
    } catch (error) {
      replace(result, h("p", { class: "blocked" }, h("strong", {}, "Refused: "), error.message),
        error.notes.length ? h("ul", { class: "notes" }, error.notes.map((n) => h("li", {}, `${n.code}: ${n.message}`))) : null);
      checked = null;
    }
  };
  const toField = field("To (phone number)", to);
  const node = h("form", { class: "compose", onsubmit: send, "aria-labelledby": "compose-title" },
    h("h2", { id: "compose-title" }, "Compose"),
    toField,
    field("Text", text),
    field("Media URLs (MMS, one a line)", media),
    h("div", { class: "checks" },
      h("label", {}, transactional, " Not marketing (transactional: quiet hours don't apply)"),
      h("label", {}, quiet, " Send in quiet hours anyway")),
    h("h3", {}, "Preview"),
    preview, button, result);
  return { node, setRecipient(conversation) { toField.hidden = Boolean(conversation); later(); } };
}

export function conversationsView(main, args) {
  const state = { conversation: args[0] || null, refresh: null };
  const unread = h("input", { type: "checkbox" });
  const list = h("ul", { class: "plain inbox" });
  const thread = h("div", { class: "thread-view" });
  const compose = composer(state);
  unread.addEventListener("change", () => state.refresh());
  main.append(h("h1", {}, "Conversations"),
    h("div", { class: "split conversations" },
      h("section", { "aria-labelledby": "inbox-title" },
        h("h2", { id: "inbox-title" }, "Inbox"),
        h("label", {}, unread, " Unread only"),
        h("p", {}, h("a", { href: "#/conversations" }, "New text to a number")),
        list),
      h("section", { "aria-labelledby": "thread-title", class: "thread-column" },
        thread, compose.node)));
  compose.setRecipient(state.conversation);
  state.refresh = async () => {
    const inbox = await api(`/api/inbox${unread.checked ? "?unread=1" : ""}`);
    replace(list, inbox.conversations.length ? inbox.conversations.map((c) => conversationItem(c, c.id === state.conversation)) : h("li", {}, "No conversations yet."));
    if (!state.conversation) {
      replace(thread, h("h2", { id: "thread-title" }, "New conversation"), h("p", {}, "Text a number: type it below."));
      return;
    }
    const page = await api(`/api/thread?conversation_id=${encodeURIComponent(state.conversation)}&limit=50`);
    const items = page.messages.map(message);
    const box = h("ol", { class: "thread tall", tabindex: "0", "aria-label": "Messages, newest last" }, items.length ? items : h("li", {}, "No messages."));
    replace(thread, h("h2", { id: "thread-title" }, page.contact_name || page.phone || "Conversation", " ", h("span", { class: "sub" }, page.phone || "")), box);
    box.scrollTop = box.scrollHeight;
  };
  // Reading GHL spends the location's request budget: at most every 2 s, however busy.
  return { title: "Conversations", topics: ["ledger", "sandbox"], every: 2000, refresh: () => state.refresh() };
}

