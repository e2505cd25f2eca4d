// Phones (sandbox only): each contact's handset, replies, STOP/START/HELP, the carrier.
import { api, toast } from "./app.js";
import { h, replace, field, time, ticks } from "./dom.js";

const OUTCOMES = [
  ["delivered", "Deliver"],
  ["slow", "Deliver slowly"],
  ["undelivered", "Undelivered (carrier code)"],
  ["failed", "Fail (carrier code)"],
];
const FAULTS = [
  ["500", "500: GHL errors, nothing done"],
  ["429", "429: rate limited"],
  ["500_after", "500 after sending"],
  ["drop", "Connection dropped after sending"],
  ["hang", "No answer after sending"],
];

function attachment(url) {
  const name = url.split("/").pop() || url;
  const img = h("img", { src: url, alt: `Picture: ${name}`, loading: "lazy" });
  const box = h("a", { class: "media", href: url, target: "_blank", rel: "noopener" }, img);
  // Offline, an outside picture can't load: show a tile with its name instead.
  img.addEventListener("error", () => replace(box, h("span", { class: "media-missing" }, `🖼 ${name}`)));
  return box;
}

function bubble(message) {
  const mine = message.direction === "inbound";  // the handset's owner wrote it
  const meta = [h("time", {}, time(message.at))];
  if (!mine) meta.push(" ", ticks(message.status));
  const failure = message.error_code
    ? h("p", { class: "failure" }, `Error ${message.error_code}: ${message.explanation || "carrier error"}. ${message.advice || ""}`)
    : null;
  return h("li", { class: `bubble ${mine ? "out" : "in"}`, dataset: { id: message.id, status: message.status } },
    message.body ? h("p", { class: "body" }, message.body) : null,
    message.attachments.map(attachment),
    failure,
    h("p", { class: "meta" }, meta));
}

function card(phone, state) {
  const list = h("ol", { class: "thread", "aria-label": `Texts on ${phone.name}'s phone`, tabindex: "0" });
  const input = h("input", { type: "text", autocomplete: "off", maxlength: "1600" });
  const send = async (text) => {
    try {
      const result = await api(`/api/phones/${encodeURIComponent(phone.contact_id)}/reply`, { method: "POST", body: { body: text } });
      input.value = "";
      toast(result.keyword ? `${phone.name} texted ${text.toUpperCase()} (${result.keyword.replace("_", " ")}).` : `${phone.name} replied.`);
      await state.refresh();
    } catch (error) {
      toast(error.message);
    }
  };
  const form = h("form", { class: "reply", onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) send(input.value); } },
    field(`Reply as ${phone.name}`, input),
    h("button", { type: "submit" }, "Send"));
  const quick = h("div", { class: "quick", role: "group", "aria-label": `Keywords from ${phone.name}` },
    ["STOP", "START", "HELP"].map((word) => h("button", { type: "button", class: "secondary", onclick: () => send(word) }, word)));
  const badges = h("p", { class: "badges" });
  const node = h("section", { class: "phone", "aria-label": `${phone.name}'s phone`, dataset: { contact: phone.contact_id, phone: phone.phone } },
    h("header", {}, h("h2", {}, phone.name), h("p", { class: "number" }, phone.phone), badges),
    list, form, quick);
  return { node, list, badges };
}

function update(entry, phone) {
  const atBottom = entry.list.scrollHeight - entry.list.scrollTop - entry.list.clientHeight < 40;
  replace(entry.list, phone.messages.length ? phone.messages.map(bubble) : h("li", { class: "empty" }, "No texts yet."));
  if (atBottom || !entry.seen) entry.list.scrollTop = entry.list.scrollHeight;
  entry.seen = true;
  const marks = [];
  if (phone.sms_dnd) marks.push(h("span", { class: "badge warn" }, `SMS DND ${phone.sms_dnd}`));
  if (phone.carrier) {
    const c = phone.carrier;
    const what = c.outcome === "delivered" ? "deliver" : `${c.outcome} ${c.code}`;
    marks.push(h("span", { class: "badge" }, `carrier: ${what}${c.delay ? `, +${c.delay} s` : ""}`));
  }
  replace(entry.badges, marks);
}

function controls(state) {
  const phoneSelect = h("select", {});
  const outcome = h("select", {}, OUTCOMES.map(([value, label]) => h("option", { value }, label)));
  const code = h("input", { type: "text", inputmode: "numeric", value: "30007", size: "6" });
  const delay = h("input", { type: "number", min: "0", max: "3600", value: "10", size: "5" });
  const carrierList = h("ul", { class: "plain" });
  const apply = async (event) => {
    event.preventDefault();
    const kind = outcome.value;
    const body = { phone: phoneSelect.value, outcome: kind === "slow" ? "delivered" : kind };
    if (kind === "failed" || kind === "undelivered") body.code = code.value.trim();
    if (kind === "slow") body.delay = Number(delay.value || 0);
    try {
      await api("/api/phones/carrier", { method: "POST", body });
      toast(`Carrier set for ${phoneSelect.value}.`);
      await state.refresh();
    } catch (error) { toast(error.message); }
  };
  const reset = async () => {
    await api(`/api/phones/carrier?phone=${encodeURIComponent(phoneSelect.value)}`, { method: "DELETE" }).catch((e) => toast(e.message));
    await state.refresh();
  };
  const kind = h("select", {}, FAULTS.map(([value, label]) => h("option", { value }, label)));
  const count = h("input", { type: "number", min: "1", max: "100", value: "1", size: "4" });
  const faultList = h("ul", { class: "plain" });
  const inject = async (event) => {
    event.preventDefault();
    try {
      await api("/api/phones/faults", { method: "POST", body: { kind: kind.value, count: Number(count.value || 1) } });
      toast(`The next ${count.value} GHL request(s) will get: ${kind.selectedOptions[0].textContent}.`);
      await state.refresh();
    } catch (error) { toast(error.message); }
  };
  const clearFaults = async () => { await api("/api/phones/faults", { method: "DELETE" }).catch((e) => toast(e.message)); await state.refresh(); };
  const node = h("aside", { class: "panel", "aria-labelledby": "carrier-title" },
    h("h2", { id: "carrier-title" }, "Carrier and faults"),
    h("form", { onsubmit: apply },
      h("h3", {}, "A number's carrier"),
      field("Phone", phoneSelect),
      field("What the carrier does", outcome),
      field("Carrier code", code, "For a failure, e.g. 30007 (filtered), 30003, 21610"),
      field("Extra seconds before sent", delay, "For slow delivery"),
      h("div", { class: "row" }, h("button", { type: "submit" }, "Apply"), h("button", { type: "button", class: "secondary", onclick: reset }, "Back to normal")),
      carrierList),
    h("form", { onsubmit: inject },
      h("h3", {}, "GHL faults"),
      field("Fault", kind),
      field("How many requests", count),
      h("div", { class: "row" }, h("button", { type: "submit" }, "Inject"), h("button", { type: "button", class: "secondary", onclick: clearFaults }, "Clear faults")),
      faultList));
  return {
    node,
    update(data) {
      if (!phoneSelect.options.length) {
        for (const p of data.phones) phoneSelect.append(h("option", { value: p.phone }, `${p.name} (${p.phone})`));
      }
      replace(carrierList, data.carrier.map((c) => h("li", {}, `${c.phone}: ${c.outcome}${c.code ? ` ${c.code}` : ""}${c.delay ? `, +${c.delay} s` : ""}`)));
      replace(faultList, data.faults.map((f) => h("li", {}, `${f.kind} × ${f.remaining}${f.path ? ` on ${f.path}` : ""}`)));
    },
  };
}

export function phonesView(main) {
  const cards = new Map();
  const grid = h("div", { class: "phones" });
  const state = { refresh: null };
  const panel = controls(state);
  main.append(h("h1", {}, "Phones"),
    h("p", { class: "lead" }, "Each sandbox contact's handset. Texts arrive as they are sent; a reply or STOP goes through GHL's inbound path (signed webhook, ledger) like a real one."),
    h("div", { class: "split" }, grid, panel.node));
  state.refresh = async () => {
    const data = await api("/api/phones");
    for (const phone of data.phones) {
      let entry = cards.get(phone.contact_id);
      if (!entry) {
        entry = card(phone, state);
        cards.set(phone.contact_id, entry);
        grid.append(entry.node);
      }
      update(entry, phone);
    }
    panel.update(data);
  };
  return { title: "Phones", topics: ["sandbox"], refresh: () => state.refresh() };
}
