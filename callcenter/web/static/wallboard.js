// /supervisor: the live wallboard. A snapshot arrives over /ws/wallboard every second; on a drop
// the page reconnects (with back-off) and shows that it is catching up.

const T = JSON.parse(document.getElementById("page-i18n")?.textContent || "{}");
const t = (key) => T[key] || key;
const root = document.getElementById("wallboard");
let retry = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (value !== false && value != null) node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(typeof child === "object" ? child : String(child));
  return node;
}

const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);
const secs = (v) => {
  if (v == null) return "—";
  const s = Math.round(v);
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : `${s}s`;
};

function tile(id, label, value, warn) {
  return el("div", { class: `tile${warn ? " warn" : ""}`, id: `tile-${id}` },
    el("div", { class: "tile-value" }, value), el("div", { class: "tile-label" }, label));
}

function render(snap) {
  const x = snap.tiles;
  const tiles = el("section", { class: "tiles" },
    tile("waiting", t("wallboard.waiting"), x.waiting, x.waiting > 0),
    tile("longest", t("wallboard.longest_wait"), secs(x.longest_wait_s), x.longest_wait_s > 60),
    tile("service_level", t("wallboard.service_level"), pct(x.service_level), x.service_level != null && x.service_level < 0.8),
    tile("offered", t("wallboard.offered_today"), x.offered_today),
    tile("answered", t("wallboard.answered_today"), x.answered_today),
    tile("abandon_rate", t("wallboard.abandon_rate"), pct(x.abandon_rate_today), x.abandon_rate_today > 0.1),
    tile("asa", t("wallboard.asa"), secs(x.asa_today_s)),
    tile("csat", t("wallboard.csat"), x.csat_today == null ? "—" : x.csat_today.toFixed(2)));
  const states = el("section", { class: "states" }, ...Object.entries(snap.agents_by_state).map(([state, n]) =>
    el("span", { class: `state state-${state}`, "data-state": state }, `${t(`wallboard.state.${state}`)}: ${n}`)));
  const skillHead = el("tr", {}, ...["skill", "waiting", "longest_wait", "answered", "abandoned", "service_level"]
    .map((c) => el("th", {}, t(`wallboard.col.${c}`))));
  const skills = el("table", { class: "skills", id: "skills" }, el("thead", {}, skillHead), el("tbody", {},
    ...snap.skills.map((s) => el("tr", { "data-skill": s.skill }, el("td", {}, s.skill), el("td", { class: "waiting" }, s.waiting),
      el("td", {}, secs(s.longest_wait_s)), el("td", {}, s.answered), el("td", {}, s.abandoned),
      el("td", {}, pct(s.service_level))))));
  const agentHead = el("tr", {}, ...["agent", "state", "since", "caller", "duration"].map((c) => el("th", {}, t(`wallboard.col.${c}`))));
  const agents = el("table", { class: "agents", id: "agents" }, el("thead", {}, agentHead), el("tbody", {},
    ...snap.agents.map((a) => el("tr", { "data-agent": a.agent_id, class: `state-${a.state}` },
      el("td", {}, a.name), el("td", { class: "agent-state" }, t(`wallboard.state.${a.state}`) + (a.reason ? ` (${a.reason})` : "")),
      el("td", {}, secs(a.since_s)), el("td", {}, a.call ? `${a.call.caller_number} ${a.call.caller_name}` : ""),
      el("td", {}, a.call ? secs(a.call.duration_s) : "")))));
  const note = el("p", { class: "note" }, t("wallboard.short_abandon_note"));
  root.replaceChildren(tiles, states, el("h2", {}, t("wallboard.skills")), skills,
    el("h2", {}, t("wallboard.agents")), agents, note,
    el("p", { class: "updated", id: "updated" }, `${t("wallboard.updated")} ${new Date(snap.at).toLocaleTimeString()}`));
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

connect();
