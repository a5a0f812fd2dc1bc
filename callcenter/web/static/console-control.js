// The call bar's actions on the live call: hang up, hold / resume (with the hold time), mute /
// unmute, blind transfer (a picker of skill queues, colleagues logged in, with their state and
// skills, refreshed while it is open, and the outside directory; a note for the next agent),
// consult and three-way (console-consult.js).
// A button shows a state only once the server says Asterisk did it (the `control` message on
// /ws/agent, or the action's answer, which comes after Asterisk confirmed it).

import { consultControls } from "./console-consult.js";
import { announce, api, el, fill, format, has, label, LANG, t } from "./dom.js";

const box = () => document.getElementById("call-actions");
const SKILLS = JSON.parse(document.body.dataset.skills || "[]");
const current = { callId: null, held: false, muted: false, heldSince: null, holdS: 0, busy: false,
  transferring: false, consulting: false, consult: null };
const targets = { agents: [], outside: [], timer: null };
const REFRESH_MS = 3000;

// the picker's value: a skill as it is, "agent:<login>", "number:<directory code>"
function transferBody(value) {
  if (value.startsWith("agent:")) return { agent: value.slice(6) };
  if (value.startsWith("number:")) return { number: value.slice(7) };
  return { skill: value };
}

function colleagueText(a) {
  const skills = a.skills.map((s) => label("skill", s)).join(", ");
  return t("console.control.colleague", { name: a.name, state: label("state", a.state), skills });
}

function outsideText(d) {
  const text = d.label[LANG] || d.label.en;
  return `${text} (${d.number})`;
}

function targetOptions() {
  return [
    el("optgroup", { label: t("console.control.group_queues") },
      SKILLS.map((skill) => el("option", { value: skill }, label("skill", skill)))),
    targets.agents.length ? el("optgroup", { label: t("console.control.group_colleagues") },
      targets.agents.map((a) => el("option", { value: `agent:${a.agent_id}`, disabled: !a.ready },
        colleagueText(a)))) : null,
    targets.outside.length ? el("optgroup", { label: t("console.control.group_outside") },
      targets.outside.map((d) => el("option", { value: `number:${d.code}` }, outsideText(d)))) : null,
  ];
}

/** Fetch the colleagues and the directory; redraw the options, keeping the choice and focus. */
async function refreshTargets() {
  try {
    const found = await api("GET", "/api/control/targets");
    targets.agents = found.agents;
    targets.outside = found.outside;
  } catch { return; }
  const select = document.getElementById("transfer-skill");
  if (!select) return;
  const chosen = select.value;
  fill(select, ...targetOptions());
  const still = [...select.options].find((o) => o.value === chosen && !o.disabled);
  if (still) select.value = chosen;
  else if (chosen.startsWith("agent:")) announce(t("console.control.colleague_gone"));
}

function watchTargets(on) {
  clearInterval(targets.timer);
  targets.timer = on ? setInterval(refreshTargets, REFRESH_MS) : null;
  if (on) refreshTargets();
}

async function act(action, extra = {}) {
  if (!current.callId || current.busy) return;
  current.busy = true;
  render();
  const message = document.getElementById("console-message");
  try {
    const path = `/api/calls/${encodeURIComponent(current.callId)}/control`;
    update(await api("POST", path, { action, ...extra }));
    if (action === "transfer") announce(t("console.control.transferred"));
    message.textContent = "";
  } catch (error) {
    // the server's reason in the page's language when the console words it, else as sent
    const key = `console.control.error.${error.errorId}`;
    message.textContent = error.errorId && has(key) ? t(key) : error.message;
    message.className = "message bad";
    announce(message.textContent, true);
  } finally {
    current.busy = false;
    render();
  }
}

// while a consult is open the agent's channel talks to the colleague (or to both): hold,
// resume and blind transfer would act on that, not on the caller (the server refuses them);
// hang-up is refused while consulting (complete or cancel), in a three-way it is leaving
function lockedByConsult(action) {
  if (!current.consult) return false;
  if (action === "hangup") return current.consult.stage !== "conference";
  return action === "hold" || action === "resume" || action === "transfer";
}

function button(id, text, action, pressed) {
  const attrs = { type: "button", id, class: "button-quiet", disabled: current.busy || lockedByConsult(action),
    onclick: () => act(action) };
  if (pressed !== undefined) attrs["aria-pressed"] = String(pressed);
  return el("button", attrs, text);
}

function holdText(now) {
  const seconds = Math.round(current.holdS + (current.heldSince != null ? now - current.heldSince : 0));
  return seconds > 0 ? t("console.control.hold_time", { time: format.clock(seconds) }) : "";
}

function transferForm() {
  const close = () => { current.transferring = false; watchTargets(false); render();
    document.getElementById("btn-transfer")?.focus(); };
  const form = el("form", { id: "transfer-form", class: "transfer-form", "aria-label": t("console.control.transfer"),
    onkeydown: (e) => { if (e.key === "Escape") close(); },
    onsubmit: (e) => {
      e.preventDefault();
      const target = form.querySelector("#transfer-skill").value;
      const note = form.querySelector("#transfer-note").value.trim();
      current.transferring = false;
      watchTargets(false);
      act("transfer", { ...transferBody(target), note });
    } },
  el("label", { for: "transfer-skill" }, t("console.control.transfer_to")),
  el("select", { id: "transfer-skill", required: true }, ...targetOptions()),
  el("label", { for: "transfer-note" }, t("console.control.transfer_note")),
  el("textarea", { id: "transfer-note", maxlength: 500, rows: 2 }),
  el("button", { type: "submit", id: "btn-transfer-send", disabled: current.busy }, t("console.control.transfer_send")),
  el("button", { type: "button", class: "button-quiet", onclick: close }, t("console.control.transfer_cancel")));
  return form;
}

export function render(now = Date.now() / 1000) {
  const node = box();
  if (!node) return;
  node.hidden = !current.callId;
  if (!current.callId) { fill(node); return; }
  const transfer = el("button", { type: "button", id: "btn-transfer", class: "button-quiet",
    disabled: current.busy || !SKILLS.length || lockedByConsult("transfer"), "aria-expanded": String(current.transferring),
    "aria-controls": "transfer-form",
    onclick: () => { current.transferring = !current.transferring; watchTargets(current.transferring);
      render(); if (current.transferring) document.getElementById("transfer-skill")?.focus(); } },
  t("console.control.transfer"));
  fill(node,
    button("btn-hold", current.held ? t("console.control.resume") : t("console.control.hold"),
      current.held ? "resume" : "hold", current.held),
    button("btn-mute", current.muted ? t("console.control.unmute") : t("console.control.mute"),
      current.muted ? "unmute" : "mute", current.muted),
    transfer,
    ...consultControls(current, act, render, SKILLS),
    button("btn-hangup", t("console.control.hangup"), "hangup"),
    el("span", { id: "hold-time", class: "hold-time", "aria-live": "off" }, holdText(now)),
    current.transferring ? transferForm() : null);
}

/** The clock's tick: only the hold time changes (the form and the focus stay as they are). */
export function tick(now = Date.now() / 1000) {
  const node = document.getElementById("hold-time");
  if (node) node.textContent = holdText(now);
}

/** A `control` message or an action's answer: the call's state as the server knows it. */
export function update(s) {
  if (s.call_id !== current.callId) return;
  if (s.held !== current.held) announce(s.held ? t("console.control.held") : t("console.control.resumed"));
  if (s.notice) { // the hold music was lost while the server was cut off from the PBX
    const message = document.getElementById("console-message");
    message.textContent = t(`console.control.${s.notice}`);
    message.className = s.notice === "hold_music_lost" ? "message bad" : "message";
    announce(message.textContent);
  }
  const before = current.consult;
  if (before && s.consult && !before.answered && s.consult.answered && s.consult.stage === "consulting") {
    announce(t("console.control.consult_answered", { agent: s.consult.to }));
  }
  Object.assign(current, { held: s.held, muted: s.muted, heldSince: s.held ? s.held_since : null,
    holdS: s.held ? s.hold_s - (s.held_since != null ? Date.now() / 1000 - s.held_since : 0) : s.hold_s,
    consult: s.consult || null });
  if (current.consult && current.transferring) { current.transferring = false; watchTargets(false); }
  if (s.ended) { current.callId = null; watchTargets(false); }
  render();
}

export function show(callId) {
  Object.assign(current, { callId, held: false, muted: false, heldSince: null, holdS: 0, busy: false,
    transferring: false, consulting: false, consult: null });
  render();
}

export function hide() { current.callId = null; current.transferring = false; watchTargets(false); render(); }
