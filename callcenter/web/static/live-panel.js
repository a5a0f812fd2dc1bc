// Live speech panel of the agent console (/agent). Renders into <section id="live-panel">: the
// call's transcript by speaker as it is spoken, the knowledge-base articles and the caller's
// orders heard in the customer's words, each with one button that puts it into the new-ticket
// form (the order into its order field, the article or the words into its notes). It listens
// on its own /ws/agent socket (live_utterance, live_assist, answered, call_ended) and, after a
// reconnect or a snapshot, fetches the transcript so far (GET /api/live/calls/{call}).

import { el, fill, t, api, announce, useCsrfToken } from "./dom.js";

const state = { seq: 0, callId: null, utterances: new Map(), articles: [], mentions: [], retry: 500 };

function root() { return document.getElementById("live-panel"); }

function speakerLabel(u) {
  if (u.kind === "gap") return t(u.reason === "paused" ? "console.live.gap_paused" : "console.live.gap_dropped");
  return t(u.speaker === "customer" ? "console.live.customer" : "console.live.agent");
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function insertNote(text) {
  const notes = document.getElementById("ticket-notes");
  if (!notes) { announce(t("console.live.no_ticket_form"), true); return; }
  notes.value = notes.value ? `${notes.value}\n${text}` : text;
  notes.dispatchEvent(new Event("input", { bubbles: true }));
  announce(t("console.live.inserted"));
}

function insertOrder(mention) {
  const select = document.getElementById("ticket-order");
  const option = select && [...select.options].find((o) => o.value === String(mention.order_id));
  if (option) {
    select.value = option.value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    announce(t("console.live.inserted"));
  } else {
    insertNote(`${t("console.live.order")} ${mention.number}`);
  }
}

function utteranceRow(u) {
  const words = u.kind === "gap" ? `${clock(u.start_s)}–${clock(u.end_s)}` : u.text;
  return el("li", { class: `live-utt live-${u.kind === "gap" ? "gap" : u.speaker}`, "data-key": String(u.id) },
    el("span", { class: "live-who" }, speakerLabel(u)), " ",
    el("span", { class: "live-time muted" }, clock(u.start_s)), " ",
    el("span", { class: "live-text" }, words), " ",
    u.kind === "gap" ? null : el("button", { type: "button", class: "link-button live-insert",
      "aria-label": t("console.live.insert_words"), onclick: () => insertNote(`${speakerLabel(u)}: ${u.text}`) },
    t("console.live.insert")));
}

function render() {
  const node = root();
  if (!node) return;
  const list = node.querySelector(".live-list");
  const items = [...state.utterances.values()].sort((a, b) => a.start_s - b.start_s || a.id - b.id);
  fill(list, items.length ? items.map(utteranceRow) : el("li", { class: "muted" },
    t(state.callId ? "console.live.listening" : "console.live.idle")));
  list.scrollTop = list.scrollHeight;
  fill(node.querySelector(".live-assist"),
    state.mentions.map((m) => el("li", {}, `${t(m.kind === "tracking" ? "console.live.tracking" : "console.live.order")} ${m.number} `,
      el("button", { type: "button", class: "link-button", onclick: () => insertOrder(m) }, t("console.live.insert")))),
    state.articles.map((a) => el("li", {}, `${t("console.live.article")}: ${a.title} `,
      el("button", { type: "button", class: "link-button", onclick: () => insertNote(`${t("console.live.article")}: ${a.title} (${a.slug})`) },
        t("console.live.insert")))));
}

function startCall(callId) {
  if (state.callId === callId) return;
  state.callId = callId;
  state.utterances = new Map();
  state.articles = [];
  state.mentions = [];
  render();
  catchUp();
}

async function catchUp() {
  const callId = state.callId;
  if (!callId) return;
  try {
    const result = await api("GET", `/api/live/calls/${encodeURIComponent(callId)}`);
    if (state.callId !== callId) return;
    for (const u of result.utterances || []) state.utterances.set(u.id, u);
    for (const u of result.utterances || []) addMentions(u.mentions || []);
    render();
  } catch (error) {
    // no such call yet (the row is written in a moment) or not ours: the live events still come
  }
}

function addMentions(mentions) {
  for (const m of mentions) {
    if (!state.mentions.some((x) => x.kind === m.kind && x.number === m.number)) state.mentions.push(m);
  }
}

function onMessage(message) {
  if (typeof message.seq === "number") state.seq = Math.max(state.seq, message.seq);
  if (message.type === "snapshot" && message.pop && message.pop.call_id) startCall(message.pop.call_id);
  else if (message.type === "answered") startCall(message.call_id);
  else if (message.type === "live_utterance") {
    if (message.call_id !== state.callId) startCall(message.call_id);
    state.utterances.set(message.id, message);
    render();
  } else if (message.type === "live_assist" && message.call_id === state.callId) {
    addMentions(message.mentions || []);
    for (const a of message.articles || []) {
      if (!state.articles.some((x) => x.id === a.id)) state.articles.unshift(a);
    }
    state.articles = state.articles.slice(0, 5);
    render();
  } else if (message.type === "call_ended" && message.call_id === state.callId) {
    root()?.querySelector(".live-status")?.replaceChildren(t("console.live.ended"));
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/agent?since=${state.seq}`);
  ws.addEventListener("open", () => { state.retry = 500; catchUp(); });
  ws.addEventListener("message", (event) => {
    try { onMessage(JSON.parse(event.data)); } catch (error) { /* a malformed frame is skipped */ }
  });
  ws.addEventListener("close", () => {
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 10000);
  });
}

async function start() {
  const node = root();
  if (!node) return;
  try {
    const me = await api("GET", "/api/me");
    useCsrfToken(me.csrf_token);
  } catch (error) {
    // the console itself reports a lost session
  }
  node.classList.add("kb-panel", "live-panel");
  node.replaceChildren(
    el("h2", { id: "live-panel-title" }, t("console.live.title")),
    el("p", { class: "live-status muted", role: "status" }),
    el("ol", { class: "live-list", "aria-live": "polite", "aria-label": t("console.live.transcript") }),
    el("h3", {}, t("console.live.assist")),
    el("ul", { class: "live-assist kb-list", "aria-live": "polite" }));
  render();
  connect();
}

start();
