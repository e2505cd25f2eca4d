// Building DOM without innerHTML: every text (a message body, a name) stays text.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replace(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A labelled field: the label names the input for screen readers (and axe).
export function field(label, input, hint) {
  const id = input.id || uid("f");
  input.id = id;
  const parts = [h("label", { for: id }, label), input];
  if (hint) {
    const hintId = `${id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    parts.push(h("span", { class: "hint", id: hintId }, hint));
  }
  return h("div", { class: "field" }, ...parts);
}

export function time(iso) {
  if (!iso) return "";
  const moment = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function when(iso) {
  if (!iso) return "";
  const moment = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return moment.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

export function money(value) {
  return value === null || value === undefined ? "" : `$${Number(value).toFixed(4)}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// A message's delivery state as ticks and words (pending, sent, delivered, failed).
export function ticks(status) {
  const marks = { pending: "…", scheduled: "⏱", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "✗", undelivered: "✗" };
  return h("span", { class: `ticks s-${status}` }, h("span", { "aria-hidden": "true" }, marks[status] || "•"), ` ${status}`);
}
