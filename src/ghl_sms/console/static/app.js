// The console's shell: the API helper, the router (hash routes), live updates (SSE).
import { phonesView } from "./phones.js";
import { conversationsView } from "./conversations.js";
import { campaignsView } from "./campaigns.js";
import { historyView } from "./history.js";
import { h, clear } from "./dom.js";

export async function api(path, { method = "GET", body } = {}) {
  const options = { method, headers: { "X-Console": "1" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError({ code: "offline", message: "The console is not answering; is `ghl-sms console` still running?" });
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.error || { code: String(response.status), message: response.statusText });
  return data;
}

export class ApiError extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.code;
    this.hint = error.hint;
    this.notes = error.notes || [];
  }
}

export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ""; }, 6000);
}

const views = { phones: phonesView, conversations: conversationsView, campaigns: campaignsView, history: historyView };
export const app = { info: { sandbox: false }, current: null };

function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const wanted = views[name] ? name : (app.info.sandbox ? "phones" : "conversations");
  return { name: wanted, args: rest.map(decodeURIComponent) };
}

async function show() {
  const { name, args } = route();
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const main = document.getElementById("view");
  if (app.current) clearTimeout(app.current.later);
  clear(main);
  app.current = views[name](main, args);
  document.title = `${app.current.title} · ghl-sms console`;
  await refresh();
}

let pending = null;
async function refresh(topics) {
  const view = app.current;
  if (!view || !view.refresh) return;
  if (topics && view.topics && !topics.some((t) => view.topics.includes(t))) return;
  const wait = view.every ? (view.last || 0) + view.every - Date.now() : 0;
  if (wait > 0) {  // a view that costs GHL requests refreshes at most every `every` ms
    clearTimeout(view.later);
    view.later = setTimeout(() => refresh(), wait);
    return;
  }
  view.last = Date.now();
  try {
    await view.refresh();
  } catch (error) {
    toast(error.message);
  }
}

function listen() {
  const live = document.getElementById("live");
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting…"; live.className = "live off"; });
  source.addEventListener("change", (event) => {
    const topics = JSON.parse(event.data).topics;
    clearTimeout(pending);
    pending = setTimeout(() => refresh(topics), 60);  // coalesce a burst of changes
  });
}

async function start() {
  try {
    app.info = await api("/api/info");
  } catch (error) {
    document.getElementById("view").append(h("p", { class: "error" }, error.message));
    return;
  }
  document.getElementById("mode").textContent = app.info.sandbox ? "sandbox" : app.info.location_id;
  if (!app.info.sandbox) document.querySelector('nav a[data-view="phones"]').parentElement.hidden = true;
  window.addEventListener("hashchange", show);
  await show();
  listen();
}

start();
