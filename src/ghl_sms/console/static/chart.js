// Sends and deliveries per minute against the allowed rate, as an inline SVG.
const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function label(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function rateChart(data, titleId) {
  const W = 640, H = 240, left = 44, right = 12, top = 14, bottom = 34;
  const minutes = data.minutes;
  const sent = minutes.reduce((n, m) => n + m.sent, 0);
  const delivered = minutes.reduce((n, m) => n + m.delivered, 0);
  const peak = Math.max(1, data.allowed_per_minute, ...minutes.map((m) => Math.max(m.sent, m.delivered)));
  const ymax = Math.ceil(peak * 1.15);
  const plotW = W - left - right, plotH = H - top - bottom;
  const y = (v) => top + plotH - (v / ymax) * plotH;
  const slot = plotW / Math.max(1, minutes.length);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-labelledby": titleId, "data-sent": sent, "data-delivered": delivered });
  svg.append(el("desc", {}, `${sent} sent and ${delivered} delivered over the last ${minutes.length} minute(s); allowed ${Math.round(data.allowed_per_minute)} a minute.`));
  for (const frac of [0, 0.5, 1]) {
    const value = Math.round(ymax * frac);
    svg.append(el("line", { x1: left, x2: W - right, y1: y(value), y2: y(value), class: "grid" }));
    svg.append(el("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" }, String(value)));
  }
  minutes.forEach((m, i) => {
    const x = left + i * slot;
    const w = Math.min(24, Math.max(2, slot * 0.38));
    svg.append(el("rect", { x: x + slot * 0.1, y: y(m.sent), width: w, height: y(0) - y(m.sent), class: "bar-sent" }));
    svg.append(el("rect", { x: x + slot * 0.1 + w, y: y(m.delivered), width: w, height: y(0) - y(m.delivered), class: "bar-delivered" }));
    const every = Math.ceil(minutes.length / 8);
    if (i % every === 0) svg.append(el("text", { x: x + slot / 2, y: H - bottom + 16, "text-anchor": "middle", class: "axis" }, label(m.at)));
  });
  const allowed = y(Math.min(data.allowed_per_minute, ymax));
  svg.append(el("line", { x1: left, x2: W - right, y1: allowed, y2: allowed, class: "allowed" }));
  svg.append(el("text", { x: W - right, y: allowed - 5, "text-anchor": "end", class: "axis" }, `allowed ${Math.round(data.allowed_per_minute)}/min`));
  return svg;
}
