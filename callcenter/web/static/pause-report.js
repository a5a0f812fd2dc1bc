// The reports page's pause section: time and count by reason (totals), then by agent and day,
// from /api/kpis/pauses over the report's period, in the user's time zone.

import { TIME_ZONE, el, format, request as api, t } from "./dom.js";
import { loadPauseReasons, reasonLabel } from "./pause-reasons.js";

let reasonsLoaded = null;

export function pauseSection() {
  return el("section", { id: "p-output", "aria-labelledby": "p-title" },
    el("h2", { id: "p-title" }, t("reports.pauses.title")),
    el("a", { id: "p-csv", href: "/api/kpis/pauses.csv", download: "" }, t("reports.pauses.csv")),
    el("div", { id: "p-body" }));
}

function hours(seconds) {
  return format.clock(seconds);
}

function table(id, caption, head, rows) {
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    el("table", { class: "r-table", id },
      el("caption", { class: "visually-hidden" }, caption),
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: i >= head.length - 2 ? "num" : "" }, h)))),
      el("tbody", {}, rows)));
}

/** Fill the section for the period [from, to) (ISO strings). */
export async function loadPauses(from, to) {
  const body = document.getElementById("p-body");
  reasonsLoaded = reasonsLoaded || loadPauseReasons().catch(() => []);
  await reasonsLoaded;
  const params = new URLSearchParams({ from, to, tz: TIME_ZONE });
  for (const [name, value] of [...params]) if (!value) params.delete(name);
  document.getElementById("p-csv").setAttribute("href", `/api/kpis/pauses.csv?${params}`);
  try {
    const report = await api(`/api/kpis/pauses?${params}`);
    if (!report.rows.length) { body.replaceChildren(el("p", {}, t("reports.pauses.empty"))); return; }
    const totals = table("p-reasons", t("reports.pauses.by_reason"),
      [t("reports.pauses.col.reason"), t("reports.pauses.col.count"), t("reports.pauses.col.time")],
      report.by_reason.map((r) => el("tr", { "data-reason": r.reason },
        el("th", { scope: "row" }, reasonLabel(r.reason)),
        el("td", { class: "num" }, r.count), el("td", { class: "num" }, hours(r.seconds)))));
    const detail = table("p-agents", t("reports.pauses.by_agent_day"),
      [t("reports.pauses.col.day"), t("reports.pauses.col.agent"), t("reports.pauses.col.reason"), t("reports.pauses.col.count"), t("reports.pauses.col.time")],
      report.rows.map((r) => el("tr", { "data-agent": r.agent_id, "data-reason": r.reason },
        el("td", {}, r.day), el("th", { scope: "row" }, r.name), el("td", {}, reasonLabel(r.reason)),
        el("td", { class: "num" }, r.count), el("td", { class: "num" }, hours(r.seconds)))));
    body.replaceChildren(totals, detail);
  } catch (error) {
    body.replaceChildren(el("p", { class: "r-error" }, `${t("reports.error")}: ${error.message}`));
  }
  body.dataset.ready = "true";
}
