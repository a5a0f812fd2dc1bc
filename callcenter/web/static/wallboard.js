// /supervisor: the live wallboard. A snapshot arrives over /ws/wallboard every second and is drawn
// in place (only the text that changed), so the focus survives it; on a drop
// the page reconnects (with back-off) and shows that it is catching up. Tiles turn amber at the
// warning threshold and red at the critical one; each waiting call says why it waits (its skill,
// language and level, and how many agents could take it, how many of them are ready).

import { announce, el, format, label, refill, t } from "./dom.js";
import { loadPauseReasons, reasonLabel } from "./pause-reasons.js";
import { monitorCell, sessionsList, startSupervision, supervisionPanel, updateAgents } from "./wallboard-supervision.js";

const root = document.getElementById("wallboard");
let retry = 0;
let lastWaiting = null;

// [warning, critical]: a value at or past the first is amber, past the second red
const THRESHOLDS = {
  waiting: { warn: 3, crit: 8, higherIsWorse: true },
  longest_wait_s: { warn: 30, crit: 90, higherIsWorse: true },
  service_level: { warn: 0.8, crit: 0.6, higherIsWorse: false },
  abandon_rate_today: { warn: 0.05, crit: 0.1, higherIsWorse: true },
  asa_today_s: { warn: 20, crit: 45, higherIsWorse: true },
  csat_today: { warn: 4.0, crit: 3.5, higherIsWorse: false },
};

function severity(key, value) {
  const rule = THRESHOLDS[key];
  if (!rule || value == null) return "";
  if (rule.higherIsWorse) return value >= rule.crit ? "crit" : value >= rule.warn ? "warn" : "";
  return value < rule.crit ? "crit" : value < rule.warn ? "warn" : "";
}

function tile(id, labelKey, key, text, value) {
  const sev = severity(key, value);
  return el("div", { class: `tile${sev ? ` ${sev}` : key ? "" : " neutral"}`, id: `tile-${id}`, "data-severity": sev || "ok" },
    el("div", { class: "tile-value" }, text),
    el("div", { class: "tile-label" }, t(`wallboard.${labelKey}`)),
    sev ? el("div", { class: "tile-note" }, t(`wallboard.level.${sev}`)) : null);
}

function table(id, caption, head, rows) {
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption }, el("table", { class: id, id },
    el("caption", { class: "visually-hidden" }, caption),
    el("thead", {}, el("tr", {}, head.map((c) => el("th", { scope: "col", class: c.num ? "num" : "" }, c.text)))),
    el("tbody", {}, rows)));
}

function whyWaiting(calls) {
  if (!calls.length) return el("p", { class: "note", id: "waiting-none" }, t("wallboard.no_waiting"));
  const head = ["caller", "waited", "skill", "language", "able"].map((c) => ({ text: t(`wallboard.why.${c}`), num: c === "waited" }));
  const rows = calls.map((c) => {
    const able = c.able.length;
    const ready = c.able_ready.length;
    const targets = c.targets.map((x) => `${label("skill", x.skill)} ≥ ${x.min_level}`).join(", ");
    const reason = able === 0 ? el("span", { class: "none" }, t("wallboard.why.nobody"))
      : ready === 0 ? t("wallboard.why.all_busy", { n: able }) : t("wallboard.why.ready", { n: ready, total: able });
    return el("tr", { "data-call": c.call_id, class: "why" },
      el("td", {}, [c.caller_name, c.caller_number].filter(Boolean).join(" ") || "—"),
      el("td", { class: `num ${severity("longest_wait_s", c.wait_s) ? `sev-${severity("longest_wait_s", c.wait_s)}` : ""}` }, format.wait(c.wait_s)),
      el("td", {}, label("skill", c.skill), el("br"), el("span", { class: "muted" }, targets)),
      el("td", {}, label("lang", c.language || "")),
      el("td", {}, reason, able ? el("br") : null, able ? el("span", { class: "muted" }, c.able.join(", ")) : null));
  });
  return table("waiting-calls", t("wallboard.why.title"), head, rows);
}

function render(snap) {
  const x = snap.tiles;
  const tiles = el("section", { class: "tiles", "aria-label": t("wallboard.title") },
    tile("waiting", "waiting", "waiting", format.number(x.waiting), x.waiting),
    tile("longest", "longest_wait", "longest_wait_s", format.wait(x.longest_wait_s), x.longest_wait_s),
    tile("service_level", "service_level", "service_level", format.percent(x.service_level), x.service_level),
    tile("abandon_rate", "abandon_rate", "abandon_rate_today", format.percent(x.abandon_rate_today), x.abandon_rate_today),
    tile("asa", "asa", "asa_today_s", format.wait(x.asa_today_s), x.asa_today_s),
    tile("offered", "offered_today", "", format.number(x.offered_today), null),
    tile("answered", "answered_today", "", format.number(x.answered_today), null),
    tile("callbacks", "callbacks_waiting", "", x.callbacks_waiting ? `${format.number(x.callbacks_waiting)} · ${format.wait(x.callbacks_oldest_wait_s)}` : "0", null),
    tile("csat", "csat", "csat_today", x.csat_today == null ? "—" : format.number(x.csat_today, 2), x.csat_today));
  const states = el("section", { class: "states", "aria-label": t("wallboard.agents") },
    Object.entries(snap.agents_by_state).map(([state, n]) =>
      el("span", { class: `badge state state-${state}`, "data-state": state }, `${label("state", state)}: ${n}`)));
  const skillRows = snap.skills.map((s) => el("tr", { "data-skill": s.skill },
    el("th", { scope: "row" }, label("skill", s.skill)),
    el("td", { class: `num waiting ${s.waiting ? "sev-warn" : ""}` }, s.waiting),
    el("td", { class: `num ${severity("longest_wait_s", s.longest_wait_s) ? `sev-${severity("longest_wait_s", s.longest_wait_s)}` : ""}` }, format.wait(s.longest_wait_s)),
    el("td", { class: "num" }, s.answered), el("td", { class: "num" }, s.abandoned),
    el("td", { class: `num ${severity("service_level", s.service_level) ? `sev-${severity("service_level", s.service_level)}` : ""}` }, format.percent(s.service_level))));
  const skills = table("skills", t("wallboard.skills"),
    ["skill", "waiting", "longest_wait", "answered", "abandoned", "service_level"].map((c) => ({ text: t(`wallboard.col.${c}`), num: c !== "skill" })),
    skillRows);
  // each agent row is a tab stop: the redraw keeps the row (by its key) and so the focus
  const agentRows = snap.agents.map((a) => el("tr", { "data-agent": a.agent_id, tabindex: "0" },
    el("th", { scope: "row" }, a.name),
    el("td", { class: "agent-state" }, el("span", { class: `badge state-${a.state}`, "data-state": a.state },
      label("state", a.state) + (a.reason ? ` · ${reasonLabel(a.reason)}` : ""))),
    el("td", { class: "num" }, format.wait(a.since_s)),
    el("td", {}, a.call ? `${a.call.caller_name} ${a.call.caller_number}`.trim() : ""),
    el("td", { class: "num" }, a.call ? format.clock(a.call.duration_s) : ""),
    monitorCell(a, snap.supervision || [])));
  const agents = table("agents", t("wallboard.agents"),
    ["agent", "state", "since", "caller", "duration", "monitor"].map((c) => ({ text: t(`wallboard.col.${c}`), num: ["since", "duration"].includes(c) })),
    agentRows);
  refill(root, tiles, states,
    el("div", { class: "wallboard-grid" },
      el("section", { "aria-labelledby": "h-waiting" }, el("h2", { id: "h-waiting" }, t("wallboard.why.title")), whyWaiting(snap.waiting_calls || [])),
      el("section", { "aria-labelledby": "h-skills" }, el("h2", { id: "h-skills" }, t("wallboard.skills")), skills),
      el("section", { "aria-labelledby": "h-agents" }, el("h2", { id: "h-agents" }, t("wallboard.agents")), agents)),
    el("p", { class: "note" }, t("wallboard.short_abandon_note")),
    el("p", { class: "updated", id: "updated", "data-offline": t("ui.reconnecting") }, `${t("wallboard.updated")} ${format.time(snap.at)}`));
  if (lastWaiting !== null && x.waiting !== lastWaiting && (x.waiting === 0 || lastWaiting === 0 || severity("waiting", x.waiting))) {
    announce(`${t("wallboard.waiting")}: ${x.waiting}`);
  }
  lastWaiting = x.waiting;
  const names = Object.fromEntries(snap.agents.map((a) => [a.agent_id, a.name]));
  const live = document.getElementById("spy-live");
  if (live) refill(live, sessionsList(snap.supervision || [], names));
  updateAgents(snap.agents);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/wallboard`);
  ws.onopen = () => { retry = 0; document.body.classList.remove("offline"); };
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (!data.error) render(data);
  };
  ws.onclose = (event) => {
    document.body.classList.add("offline");
    if (event.code === 4401 || event.code === 1008) { location.href = "/login"; return; }
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 500 * 2 ** retry);
  };
}

async function start() {
  const reasons = await loadPauseReasons().catch(() => []); // without them the codes' own labels serve
  root.after(supervisionPanel(reasons)); // beside the redrawn part, in the same <main>
  await startSupervision();
  connect();
}

start();
