// /agent: the agent desktop. At the top the call bar: the caller, the agent's state, the timer,
// the ringing alert (sound, browser notification, screen-reader alert) and the state controls
// (a pause asked for during a call shows as queued). Below it the wrap-up step (disposition,
// countdown, more time) while it applies, then the screen-pop: context status, customer, what
// they did in the IVR, orders with items and shipments, open tickets, a new ticket. The
// knowledge base sits beside (static/kb-panel.js). The event feed reconnects after a drop and
// asks for what it missed (?since=seq).

import { announce, api, el, fill, format, label, t } from "./dom.js";
import { loadPauseReasons, reasonLabel } from "./pause-reasons.js";
import * as control from "./console-control.js";

const root = document.getElementById("console");
const agentId = root.dataset.agent;
const WRAP_UP_S = JSON.parse(document.body.dataset.wrapup || '{"*": 20}');
// how long "More time" may last after the call, per skill (0: until the outcome is saved)
const WRAP_UP_MAX_S = JSON.parse(document.body.dataset.wrapupmax || '{"*": 0}');
const KINDS = ["refund", "return", "exchange", "repair", "complaint", "inquiry"];
const STATUSES = ["open", "in_progress", "waiting_customer", "resolved", "closed"];
const DISPOSITIONS = ["resolved", "ticket_opened", "ticket_updated", "callback_promised", "information_given",
  "transferred", "wrong_number", "no_action"];
const EXTEND_REASON = "after_call_work";
const ORDER_SEVERITY = { refunded: "ok", delivered: "ok", return_requested: "warn", cancelled: "warn" };
const SHIPMENT_SEVERITY = { delivered: "ok", delayed: "warn", lost: "crit", returned_to_sender: "warn" };

const state = {
  seq: Number(sessionStorage.getItem(`cc-seq-${agentId}`) || 0),
  pop: null, // the pop on screen
  phase: "idle", // idle, ringing, talking, ended
  agent: null, // the agent's state {state, reason, since, call_id}
  answeredAt: null, // server clock
  wrap: null, // the call being wrapped up {call, startedAt, seconds, saved}
  pendingPause: null,
  clock: null, // {server, local, speed}: the server's (possibly scaled) clock
  retry: 0,
  ticker: null,
  ringer: null,
};

// --- the server's clock ------------------------------------------------------------------------

function serverNow() {
  if (!state.clock) return Date.now() / 1000;
  return state.clock.server + (performance.now() / 1000 - state.clock.local) * state.clock.speed;
}

function setMessage(text, bad = false) {
  const box = document.getElementById("console-message");
  box.textContent = text;
  box.className = bad ? "message bad" : "message";
}

// --- layout ------------------------------------------------------------------------------------

function layout() {
  const reason = el("select", { id: "pause-reason" }); // filled from the configured reasons
  fill(root,
    el("section", { class: "call-bar", id: "call-bar", "aria-labelledby": "call-caller" },
      el("div", { class: "call-who" },
        el("h2", { class: "call-caller", id: "call-caller" }, t("console.waiting")),
        el("div", { class: "call-line" },
          el("span", { id: "agent-state", class: "badge", "data-state": "offline" }, "…"),
          el("span", { id: "pop-phase", class: "pop-phase" }),
          el("span", { id: "connection", class: "connection" }))),
      el("div", { id: "call-timer", class: "call-timer", role: "timer", "aria-label": t("console.timer") }),
      el("p", { id: "ringing-alert", class: "ringing-alert", hidden: true }, t("console.ringing")),
      el("div", { id: "call-actions", class: "call-controls", role: "group",
        "aria-label": t("console.control.label"), hidden: true }),
      el("div", { class: "call-controls" },
        el("button", { type: "button", id: "btn-ready", onclick: () => changeState("ready") }, t("console.ready")),
        el("label", { class: "field", for: "pause-reason" }, t("console.pause_reason"), reason),
        el("button", { type: "button", id: "btn-pause", class: "button-quiet", onclick: () => changeState("paused") },
          t("console.pause")),
        el("span", { id: "pending-pause", class: "pending-pause", hidden: true }),
        el("button", { type: "button", id: "btn-alerts", class: "button-quiet", onclick: enableAlerts,
          hidden: !("Notification" in window) || Notification.permission !== "default" }, t("console.alerts_on")))),
    el("p", { id: "console-message", class: "message", role: "status" }),
    el("section", { id: "wrapup", class: "wrapup", hidden: true, "aria-labelledby": "wrapup-title" }),
    el("section", { id: "pop", class: "pop empty", "aria-label": t("console.pop") }, t("console.waiting")));
}

// --- state -------------------------------------------------------------------------------------

async function changeState(wanted, reason) {
  const body = { state: wanted };
  const current = state.agent?.state;
  if (wanted === "paused") body.reason = reason || document.getElementById("pause-reason").value;
  try {
    const result = await api("POST", `/api/agents/${encodeURIComponent(agentId)}/state`, body);
    if (wanted === "paused" && ["offered", "talking"].includes(current)) {
      state.pendingPause = body.reason; // the router pauses the agent after this call
    } else if (wanted === "ready") {
      state.pendingPause = null;
    }
    showPendingPause();
    if (result.after_call) { state.pendingPause = result.after_call.replace(/^paused:/, ""); showPendingPause(); }
    return result;
  } catch (error) { setMessage(error.message, true); return null; }
}

function showPendingPause() {
  const box = document.getElementById("pending-pause");
  if (!state.pendingPause) { box.hidden = true; box.replaceChildren(); return; }
  box.hidden = false;
  fill(box, t("console.pause_queued", { reason: state.pendingPause === "offline" ? label("state", "offline")
    : reasonLabel(state.pendingPause) }), " ",
  el("button", { type: "button", class: "link-button", id: "btn-cancel-pause",
    onclick: () => changeState("ready") }, t("console.cancel")));
}

function showState(s) {
  const before = state.agent?.state;
  state.agent = { ...s };
  const badge = document.getElementById("agent-state");
  badge.dataset.state = s.state;
  badge.textContent = label("state", s.state) + (s.reason && s.state === "paused" ? ` · ${reasonLabel(s.reason)}` : "");
  document.getElementById("call-bar").dataset.state = s.state;
  if (["paused", "offline", "ready"].includes(s.state) && state.pendingPause) {
    state.pendingPause = null; // it happened, or was cancelled
    showPendingPause();
  }
  if (s.state !== before) {
    announce(t("console.announce_state", { state: badge.textContent }));
  }
  if (s.state === "offered") ringing(true); else ringing(false);
  if (s.state === "wrap_up") startWrapUp(s);
  if (before === "wrap_up" && s.state !== "wrap_up") wrapUpEnded(s);
  if (state.wrap?.extended && !state.wrap.saved && !(s.state === "paused" && s.reason === EXTEND_REASON)) {
    Object.assign(state.wrap, { extended: false, active: false }); // "More time" ran out (the policy's limit)
    renderWrapUp();
  }
  if (["ready", "paused", "offline"].includes(s.state) && state.phase === "ringing") clearPop();
  if (s.state === "talking" && state.answeredAt == null) state.answeredAt = s.since;
  if (s.state !== "talking") { state.answeredAt = null; control.hide(); }
  document.getElementById("btn-ready").disabled = s.state === "ready";
  tick();
}

// --- the ringing alert ----------------------------------------------------------------------------

let audio = null;

function enableAlerts() {
  try {
    audio = audio || new AudioContext();
    audio.resume();
  } catch (error) { audio = null; }
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().then(() => {
      document.getElementById("btn-alerts").hidden = Notification.permission !== "default";
    });
  }
}

function beep() {
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  for (const [offset, freq] of [[0, 880], [0.25, 660]]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + offset);
    gain.gain.exponentialRampToValueAtTime(0.2, now + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + offset);
    osc.stop(now + offset + 0.22);
  }
}

function ringing(on) {
  const alert = document.getElementById("ringing-alert");
  if (!on) {
    alert.hidden = true;
    clearInterval(state.ringer);
    state.ringer = null;
    return;
  }
  if (state.ringer) return;
  alert.hidden = false;
  beep();
  state.ringer = setInterval(beep, 2000);
  const who = callerText(state.pop) || t("console.unknown_caller");
  announce(`${t("console.ringing")}: ${who}`, true);
  if ("Notification" in window && Notification.permission === "granted" && document.visibilityState !== "visible") {
    try { new Notification(t("console.notify_title"), { body: who, tag: "callcenter-ringing" }); } catch (error) { /* not allowed here */ }
  }
}

// --- the pop -----------------------------------------------------------------------------------

function callerText(pop) {
  if (!pop) return "";
  return [pop.customer?.name || pop.caller?.name, pop.caller?.number].filter(Boolean).join(" · ");
}

function severityChip(kind, code, severities) {
  const sev = severities[code];
  return el("span", { class: `status-chip${sev ? ` sev-${sev}` : ""}` }, label(kind, code));
}

function showPop(pop) {
  state.pop = pop;
  if (state.phase !== "talking") state.phase = "ringing";
  document.getElementById("call-caller").textContent = callerText(pop) || t("console.unknown_caller");
  showPhase();
  const box = document.getElementById("pop");
  box.className = `pop phase-${state.phase}`;
  const c = pop.customer;
  const status = pop.context?.status || "ok";
  const ivr = pop.ivr || {};
  const path = ivr.path || [];
  fill(box,
    status !== "ok" ? el("p", { class: `context-status status-${status}`, id: "context-status", role: "status" },
      t(`console.context.${status}`)) : null,
    pop.callback ? el("p", { class: "context-status status-callback", id: "pop-callback", role: "status" },
      t("console.callback", { number: pop.callback.number, waited: format.wait(pop.callback.waited_s), attempt: pop.callback.attempt })) : null,
    pop.consult ? el("p", { class: "context-status status-callback", id: "pop-consult", role: "status" },
      t("console.consult_from", { agent: pop.consult.by })) : null,
    ivr.transfer ? el("section", { class: "pop-transfer", id: "pop-transfer", role: "note" },
      el("h3", {}, t("console.transferred")),
      el("p", {}, `${t("console.transferred_by")}: `, el("strong", { id: "pop-transfer-by" }, ivr.transfer.by || "")),
      ivr.transfer.note ? el("p", { id: "pop-transfer-note" }, `${t("console.transfer_note")}: ${ivr.transfer.note}`) : null) : null,
    c ? el("section", { class: "pop-customer", id: "pop-customer" }, el("h3", {}, t("console.customer")),
      el("p", {}, el("strong", { id: "pop-customer-name" }, c.name), " ",
        el("span", { class: `tier-${c.tier}` }, label("tier", c.tier))),
      el("p", { class: "muted" }, [c.phone, c.email, c.language ? label("lang", c.language) : null].filter(Boolean).join(" · "))) : null,
    el("section", { class: "pop-ivr" }, el("h3", {}, t("console.ivr")),
      path.length ? el("ol", { class: "ivr-path" }, path.map((step) => el("li", { "data-step": step }, el("span", {}, label("ivr", step)))))
        : el("p", { class: "muted" }, t("console.ivr_none")),
      pop.skill ? el("p", {}, `${t("console.queue")}: ${label("skill", pop.skill)}`) : null,
      ivr.order_number ? el("p", { id: "pop-entered-order" }, `${t("console.entered_order")}: ${ivr.order_number}`) : null),
    el("section", { class: "pop-orders wide" }, el("h3", {}, t("console.orders")),
      (pop.orders || []).length ? null : el("p", { class: "muted" }, t("console.no_orders")),
      (pop.orders || []).map((o) => el("div", { class: "order", "data-order": o.number },
        el("p", {}, el("strong", {}, o.number), " ", severityChip("order", o.status, ORDER_SEVERITY),
          ` · ${format.money(o.total_cents, o.currency)} · ${format.dateTime(o.placed_at)}`),
        el("ul", {}, (o.items || []).map((i) => el("li", {}, `${i.quantity} × ${i.title} (${format.money(i.amount_cents, o.currency)})`))),
        (o.shipments || []).map((s) => el("p", { class: "shipment" },
          `${s.carrier} ${s.tracking_number || ""} · `, severityChip("shipment", s.status, SHIPMENT_SEVERITY),
          ` · ${format.dateTime(s.status_at)}`))))),
    el("section", { class: "pop-tickets" }, el("h3", {}, t("console.open_tickets")),
      el("ul", { id: "pop-tickets", class: "ticket-list" }, (pop.tickets || []).map((tk) => ticketRow(tk))),
      (pop.tickets || []).length ? null : el("p", { class: "muted", id: "no-tickets" }, t("console.no_tickets"))),
    c ? ticketForm(pop) : null);
  document.dispatchEvent(new CustomEvent("callcenter:pop", { detail: pop }));
}

function showPhase() {
  const key = { ringing: "console.ringing", talking: "console.talking", ended: "console.ended" }[state.phase];
  const phase = document.getElementById("pop-phase");
  phase.textContent = key ? t(key) : "";
  if (state.pop?.skill && key) phase.textContent += ` · ${label("skill", state.pop.skill)}`;
}

function ticketRow(tk) {
  const id = `ticket-status-${tk.id}`;
  const select = el("select", { class: "ticket-status", "data-ticket": tk.id, id },
    STATUSES.map((s) => el("option", { value: s, selected: s === tk.status }, t(`console.status.${s}`))));
  select.addEventListener("change", async () => {
    try {
      await api("PATCH", `/api/tickets/${tk.id}`, { status: select.value });
      setMessage(t("console.ticket_updated"));
    } catch (error) { setMessage(error.message, true); select.value = tk.status; }
  });
  const overdue = tk.reply_due_at && new Date(tk.reply_due_at) < new Date();
  return el("li", { class: overdue ? "overdue" : "" },
    el("span", {}, el("strong", {}, `#${tk.id} ${t(`console.kind.${tk.kind}`)}`), ` · ${tk.subject}`),
    el("span", { class: "due" }, `${t(overdue ? "console.overdue" : "console.reply_due")} ${format.dateTime(tk.reply_due_at)}`),
    el("label", { for: id, class: "visually-hidden" }, t("console.ticket_status", { id: tk.id })), select);
}

function ticketForm(pop) {
  const orders = pop.orders || [];
  const field = (name, text, control) => el("label", { for: `ticket-${name}` }, text, control);
  const form = el("form", { id: "ticket-form", class: "ticket-form wide", "aria-labelledby": "ticket-form-title" },
    el("h3", { id: "ticket-form-title", class: "wide" }, t("console.new_ticket")),
    field("kind", t("console.kind"), el("select", { name: "kind", id: "ticket-kind" },
      KINDS.map((k) => el("option", { value: k }, t(`console.kind.${k}`))))),
    field("order", t("console.order"), el("select", { name: "order_id", id: "ticket-order" }, el("option", { value: "" }, "—"),
      orders.map((o, i) => el("option", { value: o.id, selected: i === 0 }, o.number)))),
    el("label", { for: "ticket-subject", class: "wide" }, t("console.subject"),
      el("input", { name: "subject", id: "ticket-subject", required: true, maxlength: 200 })),
    el("label", { for: "ticket-notes", class: "wide" }, t("console.notes"),
      el("textarea", { name: "notes", id: "ticket-notes", rows: 2 })),
    el("button", { type: "submit" }, t("console.create_ticket")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const ticket = await api("POST", "/api/tickets", {
        customer_id: pop.customer.id, call_id: pop.call_db_id, kind: data.get("kind"),
        order_id: data.get("order_id") ? Number(data.get("order_id")) : null,
        subject: data.get("subject"), notes: data.get("notes") || "" });
      document.getElementById("pop-tickets").append(ticketRow(ticket));
      document.getElementById("no-tickets")?.remove();
      setMessage(`${t("console.ticket_created")} #${ticket.id}`);
      const disposition = document.getElementById("disposition");
      if (disposition) disposition.value = "ticket_opened";
      form.reset();
    } catch (error) { setMessage(error.message, true); }
  });
  return form;
}

function clearPop() {
  state.phase = "idle";
  state.pop = null;
  document.getElementById("call-caller").textContent = t("console.waiting");
  document.getElementById("pop-phase").textContent = "";
  fill(document.getElementById("pop"), t("console.waiting")).className = "pop empty";
  document.dispatchEvent(new CustomEvent("callcenter:pop-cleared"));
}

// --- the timer ---------------------------------------------------------------------------------

function tick() {
  const timer = document.getElementById("call-timer");
  const s = state.agent;
  if (!s) { timer.textContent = ""; return; }
  const now = serverNow();
  const since = s.state === "talking" && state.answeredAt != null ? state.answeredAt : s.since;
  timer.textContent = since ? format.clock(now - since) : "";
  if (state.wrap && !state.wrap.saved) showCountdown(now);
  control.tick(now);
}

// --- wrap-up -----------------------------------------------------------------------------------

function wrapSeconds(skill) {
  return Number(WRAP_UP_S[skill] ?? WRAP_UP_S["*"] ?? 20);
}

function wrapLimit(skill) {
  return Number(WRAP_UP_MAX_S[skill] ?? WRAP_UP_MAX_S["*"] ?? 0);
}

function startWrapUp(s) {
  // the call that just ended (its pop is on screen); else the one whose outcome is still unsaved
  const call = state.pop || (state.wrap && !state.wrap.saved ? state.wrap.call : null);
  if (!call) return;
  if (state.wrap && !state.wrap.saved && state.wrap.call.call_id === call.call_id && state.wrap.active) return;
  if (state.wrap?.call.call_id !== call.call_id) document.getElementById("wrapup").replaceChildren(); // a new form
  state.wrap = { call, startedAt: s.since || serverNow(), seconds: wrapSeconds(call.skill), limit: wrapLimit(call.skill),
    saved: false, active: true };
  renderWrapUp();
  announce(t("console.wrap_up_started", { seconds: Math.round(state.wrap.seconds) }));
}

function wrapUpEnded(s) {
  if (!state.wrap || state.wrap.saved) return;
  if (s.state === "paused" && s.reason === EXTEND_REASON) {
    state.wrap.extended = true;
  } else {
    state.wrap.active = false;
    // the disposition can still be saved; the screen says the agent is taking calls again
  }
  renderWrapUp();
}

function renderWrapUp() {
  const box = document.getElementById("wrapup");
  const wrap = state.wrap;
  if (!wrap || wrap.saved) { box.hidden = true; box.replaceChildren(); return; }
  const keep = { disposition: document.getElementById("disposition")?.value, note: document.getElementById("disposition-note")?.value };
  const select = el("select", { id: "disposition" }, DISPOSITIONS.map((d) => el("option", { value: d }, t(`console.disposition.${d}`))));
  const note = el("input", { id: "disposition-note", maxlength: 2000 });
  if (keep.disposition) select.value = keep.disposition;
  if (keep.note) note.value = keep.note;
  const who = callerText(wrap.call);
  const stillWrapping = wrap.active && !wrap.extended;
  box.hidden = false;
  box.classList.toggle("late", !wrap.active);
  fill(box,
    el("h2", { id: "wrapup-title" }, t("console.wrap_up"), who ? ` · ${who}` : ""),
    el("p", { class: "wrapup-countdown", id: "wrapup-countdown", "aria-live": "off" }),
    stillWrapping ? el("div", { class: "wrapup-meter", "aria-hidden": "true" }, el("span", { id: "wrapup-meter" })) : null,
    el("div", { class: "wrapup-row" },
      el("label", { class: "field", for: "disposition" }, t("console.disposition"), select),
      el("label", { class: "field", for: "disposition-note" }, t("console.notes"), note)),
    el("div", { class: "wrapup-row" },
      el("button", { type: "button", id: "btn-done", onclick: saveWrapUp },
        wrap.active || wrap.extended ? t("console.done_ready") : t("console.save")),
      stillWrapping ? el("button", { type: "button", id: "btn-extend", class: "button-quiet", onclick: extendWrapUp },
        t("console.more_time")) : null));
  showCountdown(serverNow());
  box.scrollIntoView?.({ block: "nearest" });
}

function showCountdown(now) {
  const wrap = state.wrap;
  const line = document.getElementById("wrapup-countdown");
  if (!wrap || !line) return;
  if (wrap.extended && wrap.limit > 0) {
    const until = wrap.startedAt + Math.max(wrap.seconds, wrap.limit);
    line.textContent = t("console.wrap_up_extended_left", { time: format.clock(Math.max(0, until - now)) });
    return;
  }
  if (wrap.extended) { line.textContent = t("console.wrap_up_extended"); return; }
  if (!wrap.active) { line.textContent = t("console.wrap_up_over"); return; }
  const left = Math.max(0, wrap.startedAt + wrap.seconds - now);
  line.textContent = t("console.wrap_up_left", { time: format.clock(left) });
  const meter = document.getElementById("wrapup-meter");
  if (meter) meter.style.width = `${Math.min(100, (100 * left) / wrap.seconds)}%`;
}

async function extendWrapUp() {
  const result = await changeState("paused", EXTEND_REASON);
  if (result && state.wrap) { state.wrap.extended = true; renderWrapUp(); setMessage(t("console.wrap_up_extended")); }
}

async function saveWrapUp() {
  const wrap = state.wrap;
  if (!wrap) return;
  const code = document.getElementById("disposition").value;
  const noteText = document.getElementById("disposition-note").value;
  try {
    if (wrap.call.call_db_id) {
      await api("POST", `/api/calls/${wrap.call.call_db_id}/disposition`, { code, note: noteText });
    }
    wrap.saved = true;
    const current = state.agent?.state;
    if (current === "wrap_up" || (current === "paused" && state.agent.reason === EXTEND_REASON)) {
      await changeState("ready");
    }
    renderWrapUp();
    // only the wrapped-up call's pop leaves the screen: a call that rang since stays
    if (!state.pop || state.pop.call_id === wrap.call.call_id) clearPop();
    state.wrap = null;
    setMessage(t("console.saved"));
    announce(t("console.saved"));
  } catch (error) { setMessage(error.message, true); }
}

// --- the feed ----------------------------------------------------------------------------------

function handle(event) {
  if (event.seq) { state.seq = event.seq; sessionStorage.setItem(`cc-seq-${agentId}`, String(event.seq)); }
  switch (event.type) {
    case "hello":
      if (event.seq < state.seq) state.seq = 0; // the server restarted: start over
      if (typeof event.clock === "number") {
        state.clock = { server: event.clock, local: performance.now() / 1000, speed: Number(event.speed) || 1 };
      }
      break;
    case "snapshot": {
      const s = event.state;
      if (event.pop && s && ["offered", "talking", "wrap_up"].includes(s.state)
          && (!s.call_id || s.call_id === event.pop.call_id || s.call_id === event.pop.callback_of)) {
        state.phase = s.state === "talking" ? "talking" : s.state === "wrap_up" ? "ended" : "ringing";
        if (s.state === "talking") state.answeredAt = s.since;
        showPop(event.pop);
        if (s.state === "talking") {
          control.show(event.pop.call_id);
          if (event.control) control.update(event.control);
        }
      }
      if (s) showState(s);
      break;
    }
    case "state":
      showState(event);
      break;
    case "pop":
    case "pop_update":
      if (!(state.pop && state.pop.call_id === event.call_id)) state.phase = "ringing";
      showPop(event);
      if (state.agent?.state === "offered") { ringing(false); ringing(true); }
      break;
    case "answered":
      state.phase = "talking";
      state.answeredAt = event.answered_at;
      ringing(false);
      showPhase();
      document.getElementById("pop").className = "pop phase-talking";
      control.show(event.call_id);
      announce(t("console.talking"));
      tick();
      break;
    case "call_ended":
      if (state.pop && state.pop.call_id !== event.call_id) break;
      state.phase = "ended";
      showPhase();
      control.hide();
      document.dispatchEvent(new CustomEvent("callcenter:call-ended", { detail: { call_id: event.call_id } }));
      announce(t("console.ended"));
      if (state.agent?.state === "wrap_up") startWrapUp(state.agent);
      break;
    case "control":
      control.update(event);
      break;
    case "consult_ended":
      if (state.pop?.call_id === event.call_id && state.phase === "ringing") { ringing(false); clearPop(); }
      break;
    case "pop_cancelled":
      if (state.pop?.call_id === event.call_id && state.phase === "ringing") { ringing(false); clearPop(); }
      break;
    default:
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/agent?since=${state.seq}`);
  window.__consoleSocket = ws;
  ws.onopen = () => { state.retry = 0; document.getElementById("connection").textContent = ""; root.dataset.connected = "true"; };
  ws.onmessage = (message) => handle(JSON.parse(message.data));
  ws.onclose = () => {
    root.dataset.connected = "false";
    document.getElementById("connection").textContent = t("ui.reconnecting");
    announce(t("ui.reconnecting"));
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(connect, 300 * 2 ** state.retry);
  };
}

async function start() {
  layout();
  try {
    const reasons = await loadPauseReasons();
    fill(document.getElementById("pause-reason"),
      reasons.map((r) => el("option", { value: r.code }, reasonLabel(r.code))));
  } catch (error) { setMessage(error.message, true); }
  try {
    const me = await api("GET", "/api/agents");
    const own = me.agents[0];
    if (own) {
      if (own.after_call && own.after_call.startsWith("paused:")) state.pendingPause = own.after_call.slice(7);
      else if (own.after_call === "offline") state.pendingPause = "offline";
      showState(own);
      showPendingPause();
    }
  } catch (error) { setMessage(error.message, true); }
  state.ticker = setInterval(tick, 1000);
  connect();
}

start();
