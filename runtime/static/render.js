// Rendering only: DOM built with textContent (no HTML from data), nothing fetched here.

const DIRECTIONS = { cxone_to_salesforce: "CXone → Omni", salesforce_to_cxone: "Omni → CXone" };
const SOURCES = { cxone: "CXone", salesforce: "Omni" };
const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

export function ms(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`;
}

export function ago(iso) {
  if (!iso) return "–";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

function pairs(target, entries) {
  target.replaceChildren(...entries.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
}

export function agentRow(row) {
  const notInStep = row.status !== "in_step";
  const pending = Object.entries(row.pending || {}).map(([side, target]) => `${SOURCES[side]} ← ${target}`);
  return el("tr", { "data-agent-id": row.agent_id, "data-status": row.status,
                    class: `status-${row.status}${notInStep ? " out-of-step" : ""}` },
    el("td", { "data-col": "agent" }, row.email || "(no e-mail)", el("span", { class: "muted" }, ` #${row.agent_id}`)),
    el("td", { "data-col": "team" }, row.team_id ?? "–"),
    el("td", { "data-col": "rule" }, row.rule ?? el("span", { class: "muted" }, "no rule")),
    el("td", { "data-col": "cxone" }, row.cxone_state ?? "–"),
    el("td", { "data-col": "omni" }, row.omni_status ?? "–"),
    el("td", { "data-col": "status", class: "status", title: pending.join(", ") },
       el("span", { class: `s-${row.status}` }, row.status.replaceAll("_", " "))),
    el("td", { "data-col": "last-change", title: row.last_change || "" }, ago(row.last_change)),
    el("td", { "data-col": "latency", title: DIRECTIONS[row.last_sync_direction] || "" }, ms(row.last_sync_latency)),
    el("td", { "data-col": "source" }, SOURCES[row.source] ?? "–"),
  );
}

function histogram(direction, data, bounds) {
  const width = 320, height = 90, bottom = 18, n = data.histogram.length;
  const top = Math.max(1, ...data.histogram);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${DIRECTIONS[direction]} latency histogram`);
  const step = width / n;
  data.histogram.forEach((count, i) => {
    const h = ((height - bottom - 4) * count) / top;
    const bar = document.createElementNS(SVG, "rect");
    bar.setAttribute("class", "bar");
    bar.setAttribute("x", i * step + 1); bar.setAttribute("width", step - 2);
    bar.setAttribute("y", height - bottom - h); bar.setAttribute("height", h);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `≤ ${bounds[i] === null ? "∞" : ms(bounds[i])}: ${count}`;
    bar.append(title);
    svg.append(bar);
    if (i % 2 === 0) {
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", i * step + 2); label.setAttribute("y", height - 4);
      label.textContent = bounds[i] === null ? "more" : ms(bounds[i]).replace(" ", "");
      svg.append(label);
    }
  });
  return el("div", { class: "chart", "data-direction": direction },
    el("div", {}, `${DIRECTIONS[direction]}: p50 ${ms(data.p50)}, p99 ${ms(data.p99)} (${data.count} writes)`), svg);
}

export function summary(s) {
  const a = s.agents;
  pairs(document.getElementById("counts"), [["matched", a.total], ["in step", a.in_step], ["pending", a.pending],
    ["failing", a.failing], ["out of step", a.out_of_step], ["unmatched", a.unmatched]]);
  pairs(document.getElementById("circuits"), Object.entries(s.circuits).map(([vendor, c]) =>
    [vendor, c.state === "closed" ? "closed" : `${c.state} (retry in ${ms(c.retry_in_seconds)})`]));
  const calls = s.api_calls_today;
  pairs(document.getElementById("calls"), [["CXone", calls.cxone], ["Salesforce", calls.salesforce],
    ["day (UTC)", calls.date]]);
  pairs(document.getElementById("feeds"), Object.entries(s.feeds).map(([feed, f]) =>
    [feed, `${f.failing ? "failing; " : ""}read ${ago(f.last_success)}`]));
  const ready = document.getElementById("ready");
  ready.textContent = s.ready.ok ? "ready" : `not ready: ${s.ready.reason}`;
  ready.className = `badge ${s.ready.ok ? "ok" : "bad"}`;
  document.getElementById("window").textContent = `last ${Math.round(s.latency.window_seconds / 60)} min`;
  document.getElementById("latency").replaceChildren(...Object.entries(s.latency.directions).map(
    ([direction, data]) => histogram(direction, data, s.latency.bucket_upper_bounds)));
  document.getElementById("errors").replaceChildren(...(s.errors.length ? s.errors.map(errorItem)
    : [el("li", { class: "muted" }, "none since the runtime started")]));
}

export function errorItem(e) {
  const about = [e.vendor, e.agent_id ? `agent ${e.agent_id}` : null, e.feed ? `${e.feed} feed` : null,
                 e.retrying ? "retrying" : "dropped"].filter(Boolean).join(", ");
  return el("li", {}, el("span", { class: "muted" }, `${ago(e.at)} (${about}) `), e.message,
            e.hint ? el("span", { class: "hint" }, e.hint) : "");
}

export function options(select, values, label = (v) => v) {
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "any"),
    ...values.map((v) => el("option", { value: v }, label(v))));
  select.value = values.map(String).includes(current) ? current : "";
}
