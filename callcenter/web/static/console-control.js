// The call bar's actions on the live call: hang up, hold / resume (with the hold time), mute /
// unmute. A button shows a state only once the server says Asterisk did it (the `control`
// message on /ws/agent, or the action's answer, which comes after Asterisk confirmed it).

import { announce, api, el, fill, format, t } from "./dom.js";

const box = () => document.getElementById("call-actions");
const current = { callId: null, held: false, muted: false, heldSince: null, holdS: 0, busy: false };

async function act(action) {
  if (!current.callId || current.busy) return;
  current.busy = true;
  render();
  const message = document.getElementById("console-message");
  try {
    const path = `/api/calls/${encodeURIComponent(current.callId)}/control`;
    update(await api("POST", path, { action }));
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

export function render(now = Date.now() / 1000) {
  const node = box();
  if (!node) return;
  node.hidden = !current.callId;
  if (!current.callId) { fill(node); return; }
  fill(node,
    button("btn-hold", current.held ? t("console.control.resume") : t("console.control.hold"),
      current.held ? "resume" : "hold", current.held),
    button("btn-mute", current.muted ? t("console.control.unmute") : t("console.control.mute"),
      current.muted ? "unmute" : "mute", current.muted),
    button("btn-hangup", t("console.control.hangup"), "hangup"),
    el("span", { id: "hold-time", class: "hold-time", "aria-live": "off" }, holdText(now)));
}

/** A `control` message or an action's answer: the call's state as the server knows it. */
export function update(s) {
  if (s.call_id !== current.callId) return;
  if (s.held !== current.held) announce(s.held ? t("console.control.held") : t("console.control.resumed"));
  Object.assign(current, { held: s.held, muted: s.muted, heldSince: s.held ? s.held_since : null,
    holdS: s.held ? s.hold_s - (s.held_since != null ? Date.now() / 1000 - s.held_since : 0) : s.hold_s });
  if (s.ended) current.callId = null;
  render();
}

export function show(callId) {
  Object.assign(current, { callId, held: false, muted: false, heldSince: null, holdS: 0, busy: false });
  render();
}

export function hide() { current.callId = null; render(); }
