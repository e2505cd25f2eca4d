// Campaigns: the list, and one campaign's live progress, chart, failures and controls.
import { api, toast } from "./app.js";
import { h, replace, when, duration } from "./dom.js";
import { rateChart } from "./chart.js";

function list(main) {
  const body = h("tbody");
  main.append(h("h1", {}, "Campaigns"),
    h("p", { class: "lead" }, "Bulk sends from `ghl-sms bulk send` (or an assistant), newest first."),
    h("table", {}, h("caption", {}, "Campaigns"),
      h("thead", {}, h("tr", {}, ["Campaign", "State", "Sent", "Failed", "Skipped", "Recipients", "Created"].map((t) => h("th", { scope: "col" }, t)))),
      body));
  return {
    title: "Campaigns",
    topics: ["ledger"],
    async refresh() {
      const data = await api("/api/campaigns");
      replace(body, data.campaigns.length ? data.campaigns.map((c) => h("tr", {},
        h("th", { scope: "row" }, h("a", { href: `#/campaigns/${encodeURIComponent(c.id)}` }, c.name), h("span", { class: "sub" }, c.id)),
        h("td", {}, h("span", { class: `state st-${c.state}` }, c.state)),
        h("td", {}, String(c.sent)), h("td", {}, String(c.failed)), h("td", {}, String(c.skipped)),
        h("td", {}, String(c.total)), h("td", {}, when(c.created_at)))) : h("tr", {}, h("td", { colspan: "7" }, "No campaigns yet: start one with `ghl-sms bulk send`.")));
    },
  };
}

const COUNTS = [["sent", "Sent"], ["skipped", "Skipped"], ["failed", "Failed"], ["deferred", "Deferred"], ["left", "Left"]];

function reasonsTable(caption, rows, columns) {
  if (!rows.length) return h("p", {}, `${caption}: none.`);
  return h("table", {}, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map(([, t]) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([k]) => h("td", {}, r[k] === null || r[k] === undefined ? "" : String(r[k])))))));
}

function detail(main, id) {
  const head = h("div");
  const counts = h("dl", { class: "counts", "aria-live": "polite" });
  const bar = h("progress", { max: "1", value: "0", "aria-label": "Recipients done" });
  const facts = h("p", { class: "sub" });
  const buttons = {
    pause: h("button", { type: "button", onclick: () => act("pause") }, "Pause"),
    resume: h("button", { type: "button", onclick: () => act("resume") }, "Resume"),
    cancel: h("button", { type: "button", class: "danger", onclick: () => act("cancel") }, "Cancel campaign"),
  };
  const chartBox = h("figure", { class: "chart-box" });
  const failures = h("div");
  const skipped = h("div");
  let view = null;
  async function act(verb) {
    if (verb === "cancel" && !window.confirm("Cancel this campaign for good? Recipients not texted yet will be skipped.")) return;
    try {
      await api(`/api/campaigns/${encodeURIComponent(id)}/${verb}`, { method: "POST" });
      toast(`Campaign ${verb === "resume" ? "resumed" : verb === "pause" ? "paused" : "cancelled"}.`);
      await view.refresh();
    } catch (error) { toast(error.message); }
  }
  main.append(h("p", {}, h("a", { href: "#/campaigns" }, "← All campaigns")), head,
    h("section", { "aria-labelledby": "progress-title" }, h("h2", { id: "progress-title" }, "Progress"), bar, counts, facts,
      h("div", { class: "row" }, buttons.pause, buttons.resume, buttons.cancel,
        h("a", { class: "button secondary", href: `/api/campaigns/${encodeURIComponent(id)}/report.csv`, download: "" }, "Download report (CSV)"))),
    h("section", { "aria-labelledby": "chart-title" },
      h("h2", { id: "chart-title" }, "Sends and deliveries per minute"),
      h("p", { class: "legend" }, h("span", { class: "key sent" }), "sent ", h("span", { class: "key delivered" }), "delivered ", h("span", { class: "key allowed" }), "allowed rate"),
      chartBox),
    h("section", { "aria-labelledby": "failures-title" }, h("h2", { id: "failures-title" }, "Failures"), failures),
    h("section", { "aria-labelledby": "skipped-title" }, h("h2", { id: "skipped-title" }, "Skipped"), skipped));
  view = {
    title: "Campaign",
    topics: ["ledger", "sandbox"],
    async refresh() {
      const data = await api(`/api/campaigns/${encodeURIComponent(id)}`);
      const c = data.campaign, p = data.progress;
      view.title = c.name;
      replace(head, h("h1", {}, c.name, " ", h("span", { class: `state st-${c.state}`, "data-state": c.state }, c.state)),
        h("p", { class: "sub" }, `${c.id} · created ${when(c.created_at)}`),
        c.state_reason ? h("p", { class: "blocked" }, c.state_reason) : null);
      replace(counts, COUNTS.map(([k, t]) => h("div", { class: "count", dataset: { count: k } }, h("dt", {}, t), h("dd", {}, String(p[k])))));
      bar.max = String(Math.max(1, p.total));
      bar.value = String(p.total - p.left);
      const who = data.active ? `sending${data.worker ? ` (${data.worker})` : ""}` : (c.state === "running" ? "no process is sending: Resume continues it here" : "");
      replace(facts, `${p.rate_per_minute} sent in the last minute · ${duration(p.eta_seconds)} left${who ? ` · ${who}` : ""}`);
      buttons.pause.disabled = c.state !== "running";
      buttons.resume.disabled = !(c.state === "paused" || (c.state === "running" && !data.active));
      buttons.resume.textContent = c.state === "running" ? "Send from here" : "Resume";
      buttons.cancel.disabled = !["draft", "running", "paused"].includes(c.state);
      replace(chartBox, rateChart(data.chart, "chart-title"));
      replace(failures, data.failures.length ? h("ul", { class: "plain failures" }, data.failures.map((f) => h("li", { dataset: { code: f.code } },
        h("strong", {}, `${f.count} × ${f.kind} ${f.code}`), h("p", {}, f.explanation || ""), f.advice ? h("p", { class: "advice" }, `What to do: ${f.advice}`) : null))) : h("p", {}, "No failures."));
      replace(skipped, reasonsTable("Skipped recipients by reason", data.skipped, [["code", "Reason"], ["count", "Recipients"], ["example", "For example"]]),
        data.deferred.length ? reasonsTable("Deferred (waiting)", data.deferred, [["code", "Reason"], ["count", "Recipients"], ["example", "For example"]]) : null);
    },
  };
  return view;
}

export function campaignsView(main, args) {
  return args[0] ? detail(main, args[0]) : list(main);
}
