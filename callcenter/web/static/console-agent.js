// /agent: the agent console. State controls; the screen-pop (who calls, what they did in the
// IVR, profile, orders with items and shipments, open tickets with deadlines) arriving while the
// phone rings; the call timer; tickets opened or updated during the call; the disposition at
// wrap-up. The event feed reconnects after a drop and asks for what it missed (?since=seq).

const T = JSON.parse(document.getElementById("page-i18n")?.textContent || "{}");
const t = (key) => T[key] || key;
const root = document.getElementById("console");
const agentId = root.dataset.agent;
const KINDS = ["refund", "return", "exchange", "repair", "complaint", "inquiry"];
const STATUSES = ["open", "in_progress", "waiting_customer", "resolved", "closed"];
const DISPOSITIONS = ["resolved", "ticket_opened", "ticket_updated", "callback_promised", "information_given",
  "transferred", "wrong_number", "no_action"];
const state = { csrf: "", seq: Number(sessionStorage.getItem(`cc-seq-${agentId}`) || 0), pop: null,
  phase: "idle", agentState: null, answeredAt: null, lastCall: null, retry: 0, timer: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== false && value != null) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child != null) node.append(typeof child === "object" ? child : String(child));
  return node;
}

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers = { "Content-Type": "application/json", "X-CSRF-Token": state.csrf };
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) { location.href = "/login"; throw new Error("logged out"); }
  const data = await response.json();
  if (!response.ok) throw new Error(data.message || t("console.error"));
  return data;
}

const money = (cents, currency) => `${(cents / 100).toFixed(2)} ${currency || ""}`;
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function setMessage(text, bad) {
  const box = document.getElementById("console-message");
  if (box) { box.textContent = text; box.className = bad ? "message bad" : "message"; }
}

// --- layout ----------------------------------------------------------------------------------

function layout() {
  root.replaceChildren(
    el("section", { class: "console-state", id: "console-state" },
      el("span", { id: "agent-state", class: "agent-state" }, "…"),
      el("button", { type: "button", id: "btn-ready", onclick: () => changeState("ready") }, t("console.ready")),
      el("select", { id: "pause-reason" }, ...["break", "lunch", "training", "meeting"].map((r) =>
        el("option", { value: r }, t(`console.pause.${r}`)))),
      el("button", { type: "button", id: "btn-pause", onclick: () => changeState("paused") }, t("console.pause")),
      el("span", { id: "call-timer", class: "call-timer" }, ""),
      el("span", { id: "connection", class: "connection" }, "")),
    el("p", { id: "console-message", class: "message" }),
    el("section", { id: "pop", class: "pop empty" }, t("console.waiting")),
    el("section", { id: "wrapup", class: "wrapup hidden" }),
  );
}

async function changeState(wanted) {
  const body = { state: wanted };
  if (wanted === "paused") body.reason = document.getElementById("pause-reason").value;
  try {
    const result = await api("POST", `/api/agents/${encodeURIComponent(agentId)}/state`, body);
    showState({ state: result.state, reason: result.reason });
  } catch (error) { setMessage(error.message, true); }
}

function showState(s) {
  state.agentState = s;
  const label = document.getElementById("agent-state");
  if (label) {
    label.textContent = t(`console.state.${s.state}`) + (s.reason ? ` (${s.reason})` : "");
    label.dataset.state = s.state;
  }
  if (s.state === "wrap_up") showWrapUp();
  if (["ready", "paused", "offline"].includes(s.state) && state.phase === "ringing") clearPop();
}

// --- the pop ---------------------------------------------------------------------------------

function showPop(pop) {
  state.pop = pop;
  if (state.phase !== "talking") state.phase = "ringing";
  const box = document.getElementById("pop");
  box.className = `pop phase-${state.phase}`;
  const c = pop.customer;
  const status = pop.context?.status || "ok";
  const ivr = pop.ivr || {};
  box.replaceChildren(
    el("h2", { id: "pop-caller" }, `${pop.caller?.name || ""} ${pop.caller?.number || ""}`.trim()),
    el("p", { id: "pop-phase", class: "pop-phase" }, t(state.phase === "talking" ? "console.talking" : "console.ringing"),
      pop.skill ? ` · ${pop.skill}` : ""),
    status !== "ok" ? el("p", { class: `context-status status-${status}`, id: "context-status" },
      t(`console.context.${status}`)) : null,
    el("section", { class: "pop-ivr" }, el("h3", {}, t("console.ivr")),
      el("p", {}, (ivr.path || []).join(" → ") || "—"),
      ivr.order_number ? el("p", { id: "pop-entered-order" }, `${t("console.entered_order")}: ${ivr.order_number}`) : null),
    c ? el("section", { class: "pop-customer", id: "pop-customer" }, el("h3", {}, t("console.customer")),
      el("p", { class: `tier tier-${c.tier}` }, el("strong", { id: "pop-customer-name" }, c.name), ` · ${t(`console.tier.${c.tier}`)}`),
      el("p", {}, [c.phone, c.email, c.language].filter(Boolean).join(" · "))) : null,
    el("section", { class: "pop-orders" }, el("h3", {}, t("console.orders")),
      ...(pop.orders || []).map((o) => el("div", { class: "order", "data-order": o.number },
        el("p", {}, el("strong", {}, o.number), ` · ${o.status} · ${money(o.total_cents, o.currency)} · ${when(o.placed_at)}`),
        el("ul", {}, ...o.items.map((i) => el("li", {}, `${i.quantity} × ${i.title} (${money(i.amount_cents, o.currency)})`))),
        ...o.shipments.map((s) => el("p", { class: "shipment" },
          `${s.carrier} ${s.tracking_number || ""} · ${s.status} · ${when(s.status_at)}`))))),
    el("section", { class: "pop-tickets" }, el("h3", {}, t("console.open_tickets")),
      el("ul", { id: "pop-tickets" }, ...(pop.tickets || []).map((tk) => ticketRow(tk)))),
    c ? ticketForm(pop) : null,
  );
  document.dispatchEvent(new CustomEvent("callcenter:pop", { detail: pop }));
}

function ticketRow(tk) {
  const select = el("select", { class: "ticket-status", "data-ticket": tk.id },
    ...STATUSES.map((s) => el("option", { value: s, selected: s === tk.status }, t(`console.status.${s}`))));
  select.addEventListener("change", async () => {
    try {
      await api("PATCH", `/api/tickets/${tk.id}`, { status: select.value });
      setMessage(t("console.ticket_updated"));
    } catch (error) { setMessage(error.message, true); select.value = tk.status; }
  });
  const overdue = tk.reply_due_at && new Date(tk.reply_due_at) < new Date();
  return el("li", { class: overdue ? "overdue" : "" }, `#${tk.id} ${t(`console.kind.${tk.kind}`)} · ${tk.subject} · `,
    `${t("console.reply_due")} ${when(tk.reply_due_at)} `, select);
}

function ticketForm(pop) {
  const orders = pop.orders || [];
  const form = el("form", { id: "ticket-form", class: "ticket-form" },
    el("h3", {}, t("console.new_ticket")),
    el("label", {}, t("console.kind"), el("select", { name: "kind" },
      ...KINDS.map((k) => el("option", { value: k }, t(`console.kind.${k}`))))),
    el("label", {}, t("console.order"), el("select", { name: "order_id" }, el("option", { value: "" }, "—"),
      ...orders.map((o, i) => el("option", { value: o.id, selected: i === 0 }, o.number)))),
    el("label", {}, t("console.subject"), el("input", { name: "subject", required: true, maxlength: 200 })),
    el("label", {}, t("console.notes"), el("textarea", { name: "notes", rows: 3 })),
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
      setMessage(`${t("console.ticket_created")} #${ticket.id}`);
      form.reset();
    } catch (error) { setMessage(error.message, true); }
  });
  return form;
}

function clearPop() {
  state.phase = "idle";
  state.pop = null;
  const box = document.getElementById("pop");
  box.className = "pop empty";
  box.replaceChildren(t("console.waiting"));
}

function startTimer(since) {
  state.answeredAt = since;
  clearInterval(state.timer);
  const tick = () => {
    const s = Math.max(0, Math.round(Date.now() / 1000 - state.answeredAt));
    document.getElementById("call-timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  tick();
  state.timer = setInterval(tick, 1000);
}

function showWrapUp() {
  const call = state.lastCall || state.pop;
  const box = document.getElementById("wrapup");
  if (!call || !box.classList.contains("hidden")) return;
  const select = el("select", { id: "disposition" }, ...DISPOSITIONS.map((d) => el("option", { value: d }, t(`console.disposition.${d}`))));
  const note = el("input", { id: "disposition-note", maxlength: 2000, placeholder: t("console.notes") });
  box.className = "wrapup";
  box.replaceChildren(el("h3", {}, t("console.wrap_up")), select, note,
    el("button", { type: "button", id: "btn-done", onclick: async () => {
      try {
        if (call.call_db_id) await api("POST", `/api/calls/${call.call_db_id}/disposition`, { code: select.value, note: note.value });
        await changeState("ready");
        box.className = "wrapup hidden";
        box.replaceChildren();
        state.lastCall = null;
        clearPop();
        setMessage(t("console.saved"));
      } catch (error) { setMessage(error.message, true); }
    } }, t("console.done_ready")));
}

// --- the feed --------------------------------------------------------------------------------

function handle(event) {
  if (event.seq) { state.seq = event.seq; sessionStorage.setItem(`cc-seq-${agentId}`, String(event.seq)); }
  switch (event.type) {
    case "hello":
      if (event.seq < state.seq) state.seq = 0; // the server restarted: start over
      break;
    case "snapshot":
      if (event.state) showState(event.state);
      if (event.pop && event.state && ["offered", "talking", "wrap_up"].includes(event.state.state)) {
        if (event.state.state === "talking") state.phase = "talking";
        showPop(event.pop);
      }
      break;
    case "state":
      showState(event);
      break;
    case "pop":
    case "pop_update":
      state.phase = state.pop && state.pop.call_id === event.call_id ? state.phase : "ringing";
      showPop(event);
      break;
    case "answered":
      state.phase = "talking";
      if (state.pop) showPop(state.pop);
      startTimer(event.answered_at);
      break;
    case "call_ended":
      clearInterval(state.timer);
      state.lastCall = state.pop;
      state.phase = "ended";
      document.getElementById("pop-phase")?.replaceChildren(t("console.ended"));
      document.dispatchEvent(new CustomEvent("callcenter:call-ended", { detail: { call_id: event.call_id } }));
      if (state.agentState?.state === "wrap_up") showWrapUp();
      break;
    case "pop_cancelled":
      if (state.pop?.call_id === event.call_id && state.phase === "ringing") clearPop();
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
    document.getElementById("connection").textContent = t("console.reconnecting");
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(connect, 300 * 2 ** state.retry);
  };
}

async function start() {
  layout();
  try {
    state.csrf = (await api("GET", "/api/me")).csrf_token || "";
    const me = await api("GET", "/api/agents");
    if (me.agents[0]) showState(me.agents[0]);
  } catch (error) { setMessage(error.message, true); }
  connect();
}

start();
