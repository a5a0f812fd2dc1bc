// Live alerts on the wallboard (/supervisor). Renders into <section id="live-alerts">: each
// alert (customer sentiment turning negative, a prohibited word, overtalk, a long silence, a
// call past its handling target) with the agent, the call and the live transcript around it;
// below, the calls being transcribed now with their last words. Fed by /ws/live (hello, then
// what was missed since the last sequence number, or a snapshot; then live events); it
// reconnects on its own. Each alert has listen, whisper and barge buttons; the wallboard's
// supervision module (wallboard-supervision.js) serves them like its own.

import { el, fill, t, announce } from "./dom.js";

const state = { seq: 0, calls: new Map(), alerts: [], retry: 500 };
const KEEP_ALERTS = 20;

function root() { return document.getElementById("live-alerts"); }

function speaker(u) {
  if (u.kind === "gap") return t(u.reason === "paused" ? "wallboard.live.gap_paused" : "wallboard.live.gap_dropped");
  return t(u.speaker === "customer" ? "wallboard.live.customer" : "wallboard.live.agent");
}

function line(u) {
  return el("li", { "data-key": String(u.id) }, el("strong", {}, speaker(u)), " ", u.kind === "gap" ? "" : u.text);
}

function alertCard(a, index) {
  const title = t(`wallboard.live.alert.${a.kind}`);
  return el("li", { class: `card live-alert sev-${a.kind === "over_target" || a.kind === "silence" ? "warn" : "crit"}`,
    "data-key": `${a.call_id}-${a.kind}-${index}` },
    el("h3", {}, `${title} · ${a.agent || "—"}`),
    el("p", { class: "muted" }, `${t("wallboard.live.call")} ${a.call_id} · ${a.detail}`),
    el("ol", { class: "live-list", "aria-label": t("wallboard.live.transcript") }, (a.transcript || []).map(line)),
    el("div", { class: "call-controls" }, ["listen", "whisper", "barge"].map((action) =>
      el("button", { type: "button", class: "button-quiet", "data-action": "monitor", "data-mode": action,
        "data-call": a.call_id },
        t(`wallboard.live.${action}`)))));
}

function callCard([callId, call]) {
  const last = call.transcript.slice(-3);
  return el("li", { class: "card", "data-call": callId },
    el("h3", {}, `${call.agent || "—"} · ${callId}`),
    el("ol", { class: "live-list" }, last.map(line)));
}

function render() {
  const node = root();
  if (!node) return;
  fill(node.querySelector(".live-alert-list"), state.alerts.length ? state.alerts.map(alertCard)
    : el("li", { class: "muted" }, t("wallboard.live.no_alerts")));
  fill(node.querySelector(".live-call-list"), state.calls.size ? [...state.calls.entries()].map(callCard)
    : el("li", { class: "muted" }, t("wallboard.live.no_calls")));
}

function call(callId, agent) {
  let c = state.calls.get(callId);
  if (!c) { c = { agent, transcript: [] }; state.calls.set(callId, c); }
  if (agent) c.agent = agent;
  return c;
}

function onMessage(m) {
  if (typeof m.seq === "number") state.seq = Math.max(state.seq, m.seq);
  if (m.type === "live_snapshot") {
    state.calls = new Map();
    for (const c of m.calls || []) {
      state.calls.set(c.call_id, { agent: c.agent, transcript: c.transcript || [] });
      for (const a of c.alerts || []) state.alerts.unshift(a);
    }
  } else if (m.type === "live_utterance") {
    const c = call(m.call_id, m.agent);
    c.transcript = [...c.transcript.filter((u) => u.id !== m.id), m].slice(-40);
  } else if (m.type === "live_alert") {
    state.alerts.unshift(m);
    announce(`${t(`wallboard.live.alert.${m.kind}`)} · ${m.agent || ""}`, true);
  } else if (m.type === "live_call_ended") {
    state.calls.delete(m.call_id);
  } else {
    return;
  }
  state.alerts = state.alerts.slice(0, KEEP_ALERTS);
  render();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/live?since=${state.seq}`);
  ws.addEventListener("open", () => { state.retry = 500; });
  ws.addEventListener("message", (event) => {
    try { onMessage(JSON.parse(event.data)); } catch (error) { /* a malformed frame is skipped */ }
  });
  ws.addEventListener("close", () => {
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 10000);
  });
}

function start() {
  const node = root();
  if (!node) return;
  node.classList.add("section", "live-alerts");
  node.replaceChildren(
    el("h2", { id: "live-alerts-title" }, t("wallboard.live.title")),
    el("ul", { class: "live-alert-list stack", "aria-live": "assertive", "aria-label": t("wallboard.live.alerts") }),
    el("h3", {}, t("wallboard.live.calls")),
    el("ul", { class: "live-call-list stack" }));
  render();
  connect();
}

start();
