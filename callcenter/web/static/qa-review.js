// /qa: the QA review page. List of scored calls with filters and CSV export; one call with its
// audio (HTTP Range), the transcript coloured by sentiment and synced with playback, the
// scorecard items with links to their evidence, and the reviewer's overrides.

import { dateField, dateInput, el, format, label, request as api, t } from "./dom.js";

const root = document.getElementById("qa");
const FLAGS = ["customer_ended_negative", "prohibited_word", "dead_air", "below_pass_mark", "no_speech"];
const state = { filters: {} };

// a date-and-time field's text as an instant ("" when it names none)
function isoOrEmpty(text) {
  const date = dateField.parse(text, true);
  return date ? date.toISOString() : "";
}

function filterForm() {
  const input = (name, type = "text", extra = {}) =>
    el("input", { name, type, value: state.filters[name] || "", ...extra });
  const flag = el("select", { name: "flag" }, el("option", { value: "" }, t("qa.filter.any")),
    ...FLAGS.map((f) => el("option", { value: f, selected: state.filters.flag === f }, t(`qa.flag.${f}`))));
  const form = el("form", { class: "qa-filters", id: "qa-filters" },
    dateInput({ id: "qa-from", name: "from_local", text: t("qa.filter.from"), withTime: true,
      value: isoOrEmpty(state.filters.from_local || "") || null }),
    dateInput({ id: "qa-to", name: "to_local", text: t("qa.filter.to"), withTime: true,
      value: isoOrEmpty(state.filters.to_local || "") || null }),
    el("label", {}, t("qa.filter.agent"), input("agent")),
    el("label", {}, t("qa.filter.skill"), input("skill")),
    el("label", {}, t("qa.filter.min"), input("min_score", "number", { min: 0, max: 100 })),
    el("label", {}, t("qa.filter.max"), input("max_score", "number", { min: 0, max: 100 })),
    el("label", {}, t("qa.filter.flag"), flag),
    el("label", { class: "check" }, input("ended_negative", "checkbox", { checked: state.filters.ended_negative === "1", value: "1" }),
      t("qa.filter.ended_negative")),
    el("button", { type: "submit" }, t("qa.filter.apply")),
    el("a", { id: "qa-export", href: "#" }, t("qa.export")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    state.filters = {
      from: isoOrEmpty(data.get("from_local")), to: isoOrEmpty(data.get("to_local")),
      from_local: data.get("from_local"), to_local: data.get("to_local"),
      agent: data.get("agent"), skill: data.get("skill"), min_score: data.get("min_score"),
      max_score: data.get("max_score"), flag: data.get("flag"), ended_negative: data.get("ended_negative") ? "1" : "",
    };
    showList();
  });
  return form;
}

function apiQuery() {
  const { from_local, to_local, ...rest } = state.filters;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(rest)) if (value) params.set(key, value);
  return params.toString();
}

async function showList() {
  history.replaceState(null, "", "/qa");
  const form = filterForm();
  root.replaceChildren(form, el("p", { class: "qa-loading" }, "…"));
  form.querySelector("#qa-export").setAttribute("href", `/api/qa/calls.csv?${apiQuery()}`);
  let data;
  try {
    data = await api(`/api/qa/calls?${apiQuery()}`);
  } catch (error) {
    root.replaceChildren(form, el("p", { class: "qa-error" }, error.message));
    return;
  }
  if (!data.calls.length) {
    root.replaceChildren(form, el("p", { class: "qa-empty" }, t("qa.empty")));
    return;
  }
  const open = (event, id) => { event.preventDefault(); showCall(id); };
  const columns = ["time", "agent", "skill", "caller", "score", "flags", "reviewed"];
  // explicit roles: at a phone's width the rows are drawn as cards (display: block), which
  // would otherwise lose the table's meaning for screen readers
  const cell = (n, attrs, ...children) => el("td", { role: "cell", "data-label": t(`qa.col.${columns[n]}`), ...attrs }, ...children);
  const rows = data.calls.map((c) => el("tr", { class: "qa-row", role: "row", "data-call": c.call_id,
    onclick: (event) => { if (event.target.tagName !== "A") showCall(c.call_id); } },
    cell(0, {}, el("a", { href: `/qa?call=${encodeURIComponent(c.call_id)}`, class: "qa-open",
      onclick: (event) => open(event, c.call_id) }, format.dateTime(c.arrived_at))),
    cell(1, {}, c.agent_name || c.agent || "—"),
    cell(2, {}, c.skill ? label("skill", c.skill) : "—"),
    cell(3, {}, c.caller_number || "—"),
    cell(4, { class: "qa-score num" }, c.final_score == null ? "—" : format.number(c.final_score, 1)),
    cell(5, {}, el("span", {}, ...c.flags.map((f) => el("span", { class: `qa-flag flag-${f}` }, t(`qa.flag.${f}`))))),
    cell(6, {}, c.reviewer || "")));
  const head = el("tr", { role: "row" }, ...columns.map((c) => el("th", { scope: "col", role: "columnheader" }, t(`qa.col.${c}`))));
  root.replaceChildren(form, el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("qa.title") },
    el("table", { class: "qa-list", id: "qa-list", role: "table" },
      el("caption", { class: "visually-hidden" }, t("qa.title")), el("thead", { role: "rowgroup" }, head),
      el("tbody", { role: "rowgroup" }, ...rows))));
}

function sentimentClass(label) {
  return label ? `sentiment-${label}` : "sentiment-none";
}

async function showCall(callId) {
  let call;
  try {
    call = await api(`/api/qa/calls/${encodeURIComponent(callId)}`);
  } catch (error) {
    root.replaceChildren(el("p", { class: "qa-error" }, error.message));
    return;
  }
  history.replaceState(null, "", `/qa?call=${encodeURIComponent(callId)}`);
  const recording = call.recordings.find((r) => r.kind === "mixed") || call.recordings[0];
  const audio = recording ? el("audio", { controls: true, preload: "metadata", src: recording.audio_url, id: "qa-audio" }) : null;
  const lines = call.utterances.map((u) => el("li", {
    class: `qa-utt speaker-${u.speaker} ${sentimentClass(u.sentiment)}`, "data-seq": u.seq,
    "data-start": u.start, "data-end": u.end, tabindex: "0", onclick: () => seek(u.start),
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); seek(u.start); } } },
    el("span", { class: "qa-time" }, `${u.start.toFixed(1)}s`),
    el("span", { class: "qa-speaker" }, t(`qa.speaker.${u.speaker}`)),
    el("span", { class: "qa-text" }, u.text)));
  const transcript = el("ol", { class: "qa-transcript", id: "qa-transcript" }, ...lines);
  const latest = {};
  for (const o of call.overrides) if (!(o.item_id in latest)) latest[o.item_id] = o;
  const items = call.items.map((item) => itemView(call, item, latest[item.item_id]));
  const score = el("p", { class: "qa-scores" },
    `${t("qa.score.machine")}: ${call.total == null ? "—" : call.total.toFixed(1)} · `,
    el("strong", { id: "qa-final" }, `${t("qa.score.final")}: ${call.final_score == null ? "—" : call.final_score.toFixed(1)}`));
  const s = call.sentiment || {};
  const sentiment = el("p", { class: "qa-sentiment" },
    `${t("qa.sentiment.customer")}: ${format.signed(s.customer)} · ${t("qa.sentiment.agent")}: ${format.signed(s.agent)} · `,
    `${t("qa.sentiment.trajectory")}: ${(s.customer_trajectory || []).map(format.signed).join(" → ")}`);
  const gaps = call.gaps.map((g) => el("p", { class: "qa-gap" }, `${t("qa.gap")}: ${g.reason}`));
  root.replaceChildren(
    el("p", {}, el("a", { href: "#", id: "qa-back", onclick: (e) => { e.preventDefault(); showList(); } }, t("qa.back"))),
    el("h2", {}, `${t("qa.call")} ${call.call_id} · ${call.agent_name || call.agent || ""} · ${call.caller_number || ""}`),
    el("p", { class: "muted" }, [call.arrived_at ? format.dateTime(call.arrived_at) : null, call.skill ? label("skill", call.skill) : null].filter(Boolean).join(" · ")),
    score, el("div", { class: "qa-flags" }, ...call.flags.map((f) => el("span", { class: `qa-flag flag-${f}` }, t(`qa.flag.${f}`)))),
    el("section", { class: "qa-player" }, el("h3", {}, t("qa.audio")), audio || el("p", {}, t("qa.no_audio")), ...gaps),
    el("div", { class: "qa-columns" },
      el("section", {}, el("h3", {}, t("qa.transcript")), sentiment, transcript),
      el("section", {}, el("h3", {}, t("qa.items")), el("ul", { class: "qa-items", id: "qa-items" }, ...items))));
  if (audio) audio.addEventListener("timeupdate", () => highlight(audio.currentTime));
}

function seek(seconds) {
  const audio = document.getElementById("qa-audio");
  if (audio) { audio.currentTime = seconds; audio.play().catch(() => {}); }
  highlight(seconds);
}

function highlight(now) {
  for (const node of document.querySelectorAll(".qa-utt")) {
    const on = now >= Number(node.dataset.start) && now <= Number(node.dataset.end) + 0.3;
    node.classList.toggle("current", on);
  }
}

function itemView(call, item, override) {
  const passed = override ? override.passed : item.passed;
  const status = passed == null ? "na" : passed ? "passed" : "failed";
  const evidence = el("ul", { class: "qa-evidence" }, ...item.evidence.map((e) => el("li", {},
    e.seq != null || e.start != null
      ? el("a", { href: "#", class: "qa-evidence-link", "data-seq": e.seq ?? "",
          onclick: (event) => { event.preventDefault(); seek(Number(e.start || 0)); } }, e.note)
      : e.note,
    e.text ? el("q", {}, e.text) : null)));
  const comment = el("input", { type: "text", name: "comment", placeholder: t("qa.override.comment"),
    "aria-label": `${t("qa.override.comment")}: ${item.label}`, maxlength: 2000 });
  const note = el("span", { class: "qa-saved" });
  const save = async (value) => {
    try {
      const result = await api(`/api/qa/calls/${call.call_id}/overrides`,
        { item_id: item.item_id, passed: value, comment: comment.value });
      document.getElementById("qa-final").textContent =
        `${t("qa.score.final")}: ${result.final_score == null ? "—" : result.final_score.toFixed(1)}`;
      row.querySelector(".qa-status").textContent = t(`qa.item.${value ? "passed" : "failed"}`);
      row.className = `qa-item status-${value ? "passed" : "failed"} overridden`;
      note.textContent = t("qa.override.saved");
    } catch (error) {
      note.textContent = error.message;
    }
  };
  const row = el("li", { class: `qa-item status-${status}${override ? " overridden" : ""}`, "data-item": item.item_id },
    el("div", { class: "qa-item-head" }, el("strong", {}, item.label), " ",
      el("span", { class: "qa-status" }, t(`qa.item.${status}`)), ` (${item.weight})`),
    evidence,
    override ? el("p", { class: "qa-override-note" }, `${override.reviewer}: ${override.comment}`) : null,
    el("div", { class: "qa-override" }, comment,
      el("button", { type: "button", class: "qa-pass", onclick: () => save(true) }, t("qa.override.pass")),
      el("button", { type: "button", class: "qa-fail", onclick: () => save(false) }, t("qa.override.fail")), note));
  return row;
}

async function start() {
  const wanted = new URLSearchParams(location.search).get("call");
  if (wanted) showCall(wanted); else showList();
}

start();
