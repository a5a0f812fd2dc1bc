// The call bar's consult (warm transfer) and three-way conference: a Consult… button opens a
// picker (a colleague's login, or a skill: its first ready agent); while consulting (the caller
// holds) Complete, Cancel and Conference (the first two only once the colleague answered); in a
// three-way, Leave (the caller and the colleague talk on). States come from the server's answer,
// once Asterisk confirmed them, and its `control` pushes (the colleague answered).

import { el, label, t } from "./dom.js";

function consultForm(current, act, render, skills) {
  const close = () => { current.consulting = false; render(); document.getElementById("btn-consult")?.focus(); };
  const form = el("form", { id: "consult-form", class: "transfer-form", "aria-label": t("console.control.consult"),
    onkeydown: (e) => { if (e.key === "Escape") close(); },
    onsubmit: (e) => {
      e.preventDefault();
      const agent = form.querySelector("#consult-agent").value.trim();
      const skill = form.querySelector("#consult-skill").value;
      current.consulting = false;
      act("consult", agent ? { agent } : { skill });
    } },
  el("label", { for: "consult-agent" }, t("console.control.consult_agent")),
  el("input", { id: "consult-agent", type: "text", maxlength: 64, autocomplete: "off" }),
  el("label", { for: "consult-skill" }, t("console.control.consult_skill")),
  el("select", { id: "consult-skill" },
    skills.map((skill) => el("option", { value: skill }, label("skill", skill)))),
  el("button", { type: "submit", id: "btn-consult-send", disabled: current.busy }, t("console.control.consult_send")),
  el("button", { type: "button", class: "button-quiet", onclick: close }, t("console.control.transfer_cancel")));
  return form;
}

/** The consult's buttons (and its picker when open), for the call bar. While the colleague's
 * phone rings, Complete and Conference are disabled (the server refuses them: 409
 * colleague_ringing), described by a hint saying why. */
export function consultControls(current, act, render, skills) {
  const consult = current.consult;
  const ringing = Boolean(consult && consult.stage === "consulting" && !consult.answered);
  const step = (id, text, action, waits = false) => el("button", { type: "button", id, class: "button-quiet",
    disabled: current.busy || (waits && ringing), onclick: () => act(action),
    "aria-describedby": waits && ringing ? "consult-ringing-hint" : null }, text);
  if (!consult) {
    const open = el("button", { type: "button", id: "btn-consult", class: "button-quiet",
      disabled: current.busy, "aria-expanded": String(current.consulting), "aria-controls": "consult-form",
      onclick: () => { current.consulting = !current.consulting; render();
        if (current.consulting) document.getElementById("consult-agent")?.focus(); } },
    t("console.control.consult"));
    return [open, current.consulting ? consultForm(current, act, render, skills) : null];
  }
  const said = consult.stage === "conference" ? "console.control.in_conference"
    : ringing ? "console.control.consult_ringing" : "console.control.consulting";
  const status = el("span", { id: "consult-status", class: "hold-time", role: "status" },
    t(said, { agent: consult.to }));
  if (consult.stage === "conference") {
    return [status, step("btn-consult-leave", t("console.control.leave"), "complete")];
  }
  const hint = ringing ? el("span", { id: "consult-ringing-hint", class: "muted" },
    t("console.control.consult_ringing_hint", { agent: consult.to })) : null;
  return [status, step("btn-consult-complete", t("console.control.complete"), "complete", true),
    step("btn-consult-conference", t("console.control.conference"), "conference", true),
    step("btn-consult-cancel", t("console.control.consult_cancel"), "cancel"), hint];
}
