// History: every send this install made, from the ledger, filtered and exported as CSV.
import { api } from "./app.js";
import { h, replace, field, when, money } from "./dom.js";

const FILTERS = [
  ["to", "To (phone)", "+14155550100"],
  ["contact", "Contact id", ""],
  ["since", "Since", "2d, 12h or an ISO time"],
  ["until", "Until", ""],
  ["status", "Status", "failed,undelivered"],
  ["campaign", "Campaign id", ""],
];

export function historyView(main) {
  const inputs = Object.fromEntries(FILTERS.map(([k, , placeholder]) => [k, h("input", { type: "text", name: k, placeholder })]));
  const body = h("tbody");
  const note = h("p", { role: "status" });
  const exportLink = h("a", { class: "button secondary", href: "/api/history.csv", download: "" }, "Export CSV");
  const query = () => {
    const params = new URLSearchParams();
    for (const [k, input] of Object.entries(inputs)) if (input.value.trim()) params.set(k, input.value.trim());
    return params.toString();
  };
  const view = {
    title: "History",
    topics: ["ledger"],
    async refresh() {
      const q = query();
      exportLink.href = `/api/history.csv${q ? `?${q}` : ""}`;
      let data;
      try {
        data = await api(`/api/history${q ? `?${q}` : ""}`);
      } catch (error) {
        replace(note, h("span", { class: "blocked" }, error.message));
        return;
      }
      replace(note, `${data.entries.length}${data.more ? "+" : ""} send(s)${data.more ? " (the newest shown; export has them all)" : ""}.`);
      replace(body, data.entries.map((e) => h("tr", { dataset: { status: e.status } },
        h("td", {}, when(e.created_at)),
        h("td", {}, e.contact_name || "", h("span", { class: "sub" }, e.to || "")),
        h("td", { class: "text" }, e.text),
        h("td", {}, String(e.segments)),
        h("td", {}, money(e.cost_estimate_usd)),
        h("td", {}, h("span", { class: `status s-${e.status}` }, e.status), e.explanation ? h("span", { class: "sub" }, `${e.explanation} ${e.advice || ""}`) : null),
        h("td", {}, h("code", {}, e.message_id || ""), e.campaign_id ? h("span", { class: "sub" }, e.campaign_id) : null))));
    },
  };
  main.append(h("h1", {}, "History"),
    h("p", { class: "lead" }, "Every send this install made, newest first, from the local ledger (no GHL request)."),
    h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); view.refresh(); } },
      FILTERS.map(([k, label]) => field(label, inputs[k])),
      h("div", { class: "row" }, h("button", { type: "submit" }, "Filter"), exportLink)),
    note,
    h("table", {}, h("caption", {}, "Sends"),
      h("thead", {}, h("tr", {}, ["When", "To", "Text", "Parts", "Cost", "Status", "Message"].map((t) => h("th", { scope: "col" }, t)))),
      body));
  return view;
}
