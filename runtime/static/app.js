// The live view: one page of agents fetched from /api/v1/agents (filters and paging on the server), then kept
// current by server-sent events from /api/v1/events -- no polling. Read-only.
import { agentRow, options, summary } from "./render.js";

const COOKIE = "presence_sync_live_view";
const state = { offset: 0, limit: 100, total: 0, loading: null, reloadTimer: null, rulesKnown: "", teamsKnown: "" };
const $ = (id) => document.getElementById(id);

function filters() {
  return { status: $("filter-out-of-step").checked ? "not_in_step" : "", rule: $("filter-rule").value,
           team: $("filter-team").value, q: $("filter-q").value.trim() };
}

function matches(row, f) {
  if (f.status === "not_in_step" && row.status === "in_step") return false;
  if (f.rule && (row.rule ?? "(none)") !== f.rule) return false;
  if (f.team && String(row.team_id) !== f.team) return false;
  if (f.q && !(`${row.email ?? ""} ${row.agent_id}`.toLowerCase().includes(f.q.toLowerCase()))) return false;
  return true;
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) { showLogin(); throw new Error("unauthorized"); }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function loadPage() {
  const f = filters();
  const query = new URLSearchParams({ offset: state.offset, limit: state.limit });
  for (const [key, value] of Object.entries(f)) if (value) query.set(key, value);
  const page = await api(`/api/v1/agents?${query}`);
  state.total = page.total;
  $("agents").tBodies[0].replaceChildren(...page.agents.map(agentRow));
  const last = Math.min(page.total, page.offset + page.agents.length);
  $("paging").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "no agent matches";
  $("prev").disabled = page.offset === 0;
  $("next").disabled = last >= page.total;
}

function reloadSoon() {  // a change that moves rows in or out of the page: fetch the page again, once
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(() => loadPage().catch(console.error), 150);
}

function onAgent(row) {
  const current = $("agents").querySelector(`tr[data-agent-id="${row.agent_id}"]`);
  const wanted = matches(row, filters());
  if (current && wanted) current.replaceWith(agentRow(row));
  else if (current || wanted) reloadSoon();
}

function onSummary(s) {
  summary(s);
  const rules = JSON.stringify(s.rules), teams = JSON.stringify(s.teams);
  if (rules !== state.rulesKnown) { options($("filter-rule"), [...s.rules, "(none)"]); state.rulesKnown = rules; }
  if (teams !== state.teamsKnown) { options($("filter-team"), s.teams.map(String)); state.teamsKnown = teams; }
}

function connect() {
  const events = new EventSource("/api/v1/events");
  const connection = $("connection");
  events.addEventListener("open", () => {
    connection.textContent = "live"; connection.className = "badge ok";
    loadPage().catch(console.error);  // whatever changed while we were away
  });
  events.addEventListener("error", () => { connection.textContent = "reconnecting"; connection.className = "badge bad"; });
  events.addEventListener("summary", (e) => onSummary(JSON.parse(e.data)));
  events.addEventListener("agent", (e) => onAgent(JSON.parse(e.data)));
}

function showLogin() {
  $("login").hidden = false;
  $("view").hidden = true;
}

async function start() {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${COOKIE}=${encodeURIComponent($("token").value)}; Path=/; SameSite=Strict${secure}`;
    location.reload();
  });
  for (const id of ["filter-out-of-step", "filter-rule", "filter-team"]) {
    $(id).addEventListener("change", () => { state.offset = 0; loadPage().catch(console.error); });
  }
  $("filter-q").addEventListener("input", () => { state.offset = 0; reloadSoon(); });
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadPage(); });
  $("next").addEventListener("click", () => { state.offset += state.limit; loadPage(); });
  try {
    onSummary(await api("/api/v1/summary"));
    await loadPage();
  } catch (error) {
    if (error.message === "unauthorized") return;
    throw error;
  }
  connect();
}

start();
