// The call bar's actions on the live call: hang up, hold / resume (with the hold time), mute /
// unmute, blind transfer to a skill (a skill picker and a note for the next agent), consult and
// three-way (console-consult.js). A button shows a state only once the server says Asterisk did it (the `control`
// message on /ws/agent, or the action's answer, which comes after Asterisk confirmed it).

import { consultControls } from "./console-consult.js";
import { announce, api, el, fill, format, label, t } from "./dom.js";

const box = () => document.getElementById("call-actions");
const SKILLS = JSON.parse(document.body.dataset.skills || "[]");
const current = { callId: null, held: false, muted: false, heldSince: null, holdS: 0, busy: false,
  transferring: false, consulting: false, consult: null };

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
    message.textContent = error.message;
    message.className = "message bad";
  } finally {
    current.busy = false;
    render();
  }
}

function button(id, text, action, pressed) {
  const attrs = { type: "button", id, class: "button-quiet", disabled: current.busy,
    onclick: () => act(action) };
  if (pressed !== undefined) attrs["aria-pressed"] = String(pressed);
  return el("button", attrs, text);
}

function holdText(now) {
  const seconds = Math.round(current.holdS + (current.heldSince != null ? now - current.heldSince : 0));
  return seconds > 0 ? t("console.control.hold_time", { time: format.clock(seconds) }) : "";
}

function transferForm() {
  const close = () => { current.transferring = false; render(); document.getElementById("btn-transfer")?.focus(); };
  const form = el("form", { id: "transfer-form", class: "transfer-form", "aria-label": t("console.control.transfer"),
    onkeydown: (e) => { if (e.key === "Escape") close(); },
    onsubmit: (e) => {
      e.preventDefault();
      const skill = form.querySelector("#transfer-skill").value;
      const note = form.querySelector("#transfer-note").value.trim();
      current.transferring = false;
      act("transfer", { skill, note });
    } },
  el("label", { for: "transfer-skill" }, t("console.control.transfer_to")),
  el("select", { id: "transfer-skill", required: true },
    SKILLS.map((skill) => el("option", { value: skill }, label("skill", skill)))),
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
    disabled: current.busy || !SKILLS.length, "aria-expanded": String(current.transferring),
    "aria-controls": "transfer-form",
    onclick: () => { current.transferring = !current.transferring; render();
      if (current.transferring) document.getElementById("transfer-skill")?.focus(); } },
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
  Object.assign(current, { held: s.held, muted: s.muted, heldSince: s.held ? s.held_since : null,
    holdS: s.held ? s.hold_s - (s.held_since != null ? Date.now() / 1000 - s.held_since : 0) : s.hold_s,
    consult: s.consult || null });
  if (s.ended) current.callId = null;
  render();
}

export function show(callId) {
  Object.assign(current, { callId, held: false, muted: false, heldSince: null, holdS: 0, busy: false,
    transferring: false, consulting: false, consult: null });
  render();
}

export function hide() { current.callId = null; current.transferring = false; render(); }
