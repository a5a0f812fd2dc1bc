// The wallboard's supervision: listen / whisper / barge buttons on each agent's live call (the
// server rings the supervisor's own phone into it), who is monitoring which call, the
// supervisor's phone, and setting an agent's state (ready, a pause with its reason, logged out).
// The agent rows are redrawn every second by morphing, which keeps no listeners: the buttons
// carry data-action and one delegated click handler serves them.

import { api, el, fill, label, t } from "./dom.js";
import { reasonLabel } from "./pause-reasons.js";

const MODES = ["listen", "whisper", "barge"];
const me = document.body.dataset.user || "";
let busy = false;

function say(text, bad = false) {
  const box = document.getElementById("spy-message");
  if (!box) return;
  box.textContent = text;
  box.className = bad ? "message bad" : "message";
}

/** The "Monitor" cell of an agent's row: buttons on a live call; my session's mode and stop. */
export function monitorCell(agent, sessions) {
  const onCall = sessions.filter((s) => s.agent_id === agent.agent_id);
  const mine = onCall.find((s) => s.supervisor === me);
  const others = onCall.filter((s) => s !== mine)
    .map((s) => el("span", { class: "badge spy-badge" }, t("wallboard.spy.by", { who: s.supervisor, mode: t(`wallboard.spy.mode.${s.mode}`) })));
  if (!agent.call || agent.state !== "talking") return el("td", { class: "monitor" }, others);
  const name = agent.name;
  const buttons = MODES.filter((m) => !mine || m !== mine.mode).map((mode) => el("button", {
    type: "button", class: "button-quiet spy-button", "data-action": mine ? "switch" : "monitor", "data-mode": mode,
    "data-call": agent.call_id, "data-session": mine ? String(mine.id) : null,
    "aria-label": t("wallboard.spy.action_for", { mode: t(`wallboard.spy.mode.${mode}`), agent: name }),
  }, t(`wallboard.spy.mode.${mode}`)));
  // why my last switch was refused (a barge keyed on my phone that another supervisor got first)
  const note = mine && mine.note ? [el("span", { class: "spy-note", role: "status", "data-note": mine.note },
    t(`wallboard.spy.note.${mine.note}`, { mode: t(`wallboard.spy.mode.${mine.mode}`) }))] : [];
  const own = mine ? [el("span", { class: "badge spy-badge spy-mine", "data-mode": mine.mode },
    t(`wallboard.spy.you.${mine.state === "ringing" ? "ringing" : mine.mode}`)), ...note,
  el("button", { type: "button", class: "spy-button", "data-action": "stop", "data-session": String(mine.id),
    "aria-label": t("wallboard.spy.stop_for", { agent: name }) }, t("wallboard.spy.stop"))] : [];
  return el("td", { class: "monitor" }, own, buttons, others);
}

/** The list of live sessions: who is listening to which agent's call, how. */
export function sessionsList(sessions, names) {
  if (!sessions.length) return el("p", { class: "note", id: "spy-none" }, t("wallboard.spy.none"));
  return el("ul", { class: "spy-sessions", id: "spy-sessions" }, sessions.map((s) => el("li", { "data-key": `spy-${s.id}` },
    t("wallboard.spy.line", { who: s.supervisor, agent: names[s.agent_id] || s.agent_id || "—",
      mode: t(`wallboard.spy.mode.${s.mode}`), state: t(`wallboard.spy.state.${s.state}`) }))));
}

async function act(button) {
  if (busy) { say(t("wallboard.spy.wait"), true); return; }
  const { action, mode, call, session } = button.dataset;
  busy = true;
  if (action !== "stop") say(t("wallboard.spy.ringing"));
  try {
    if (action === "monitor") await api("POST", `/api/supervision/calls/${encodeURIComponent(call)}/monitor`, { mode });
    else if (action === "switch") await api("POST", `/api/supervision/sessions/${session}/mode`, { mode });
    else await api("DELETE", `/api/supervision/sessions/${session}`);
    say(action === "stop" ? t("wallboard.spy.stopped") : t("wallboard.spy.started", { mode: t(`wallboard.spy.mode.${mode}`) }));
  } catch (error) { say(error.message, true); } finally { busy = false; }
}

async function savePhone(event) {
  event.preventDefault();
  const value = document.getElementById("spy-phone").value.trim();
  try {
    await api("PUT", "/api/supervision/phone", { phone: value || null });
    say(t("wallboard.spy.phone_saved"));
  } catch (error) { say(error.message, true); }
}

async function setState(event) {
  event.preventDefault();
  const choice = document.getElementById("force-agent");
  const agent = choice.value;
  const name = choice.selectedOptions[0]?.textContent || agent;
  const state = document.getElementById("force-state").value;
  const reason = state === "paused" ? document.getElementById("force-reason").value : "";
  try {
    const result = await api("POST", `/api/supervision/agents/${encodeURIComponent(agent)}/state`, { state, reason });
    const after = result.after_call ? t("wallboard.force.after_call") : "";
    const shown = label("state", result.state) + (result.state === "paused" ? ` · ${reasonLabel(result.reason)}` : "");
    say(`${t("wallboard.force.done", { agent: name, state: shown })} ${after}`.trim());
  } catch (error) { say(error.message, true); }
}

/** The panel under the wallboard (built once; only the agents' list and the sessions change). */
export function supervisionPanel(reasons) {
  const reasonSelect = el("select", { id: "force-reason" }, reasons.map((r) => el("option", { value: r.code }, reasonLabel(r.code))));
  const stateSelect = el("select", { id: "force-state", onchange: () => { reasonSelect.disabled = stateSelect.value !== "paused"; } },
    ["ready", "paused", "offline"].map((s) => el("option", { value: s }, label("state", s))));
  reasonSelect.disabled = true;
  return el("section", { id: "supervision", class: "supervision", "aria-labelledby": "h-supervision" },
    el("h2", { id: "h-supervision" }, t("wallboard.spy.title")),
    el("p", { id: "spy-message", class: "message", role: "status" }),
    el("div", { id: "spy-live" }),
    el("form", { class: "spy-form", id: "spy-phone-form", onsubmit: savePhone },
      el("label", { class: "field", for: "spy-phone" }, t("wallboard.spy.phone"),
        el("input", { id: "spy-phone", name: "phone", autocomplete: "off", placeholder: "PJSIP/1009", maxlength: "128" })),
      el("button", { type: "submit" }, t("wallboard.spy.save_phone"))),
    el("form", { class: "spy-form", id: "force-form", onsubmit: setState, "aria-labelledby": "h-force" },
      el("h3", { id: "h-force" }, t("wallboard.force.title")),
      el("label", { class: "field", for: "force-agent" }, t("wallboard.col.agent"), el("select", { id: "force-agent", required: true })),
      el("label", { class: "field", for: "force-state" }, t("wallboard.col.state"), stateSelect),
      el("label", { class: "field", for: "force-reason" }, t("wallboard.force.reason"), reasonSelect),
      el("button", { type: "submit" }, t("wallboard.force.apply"))));
}

/** Keep the agent choice in step with the wallboard's agents (the chosen one stays chosen). */
export function updateAgents(agents) {
  const select = document.getElementById("force-agent");
  if (!select) return;
  const wanted = agents.map((a) => `${a.agent_id}\u0000${a.name}`).join("\n");
  if (select.dataset.agents === wanted) return;
  const chosen = select.value;
  fill(select, agents.map((a) => el("option", { value: a.agent_id }, a.name)));
  if (agents.some((a) => a.agent_id === chosen)) select.value = chosen;
  select.dataset.agents = wanted;
}

/** Load the phone once and serve the buttons. */
export async function startSupervision() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) act(button);
  });
  try {
    const { phone } = await api("GET", "/api/supervision/phone");
    document.getElementById("spy-phone").value = phone || "";
  } catch (error) { say(error.message, true); }
}
