// /reports: service KPIs (table + SVG charts drawn here, no library), CSV export, and the
// Erlang C staffing calculator. Data from /api/kpis, /api/staffing, /api/staffing/history.

import { TIME_ZONE, dateField, dateInput, el, format as fmt, label as codeLabel, request as api, t } from "./dom.js";
import { loadPauses, pauseSection } from "./pause-report.js";

const SVG = "http://www.w3.org/2000/svg";
const COLUMNS = ["offered", "answered", "abandoned", "short_abandons", "service_level", "asa_s",
  "aht_s", "talk_s", "hold_s", "wrap_up_s", "fcr_rate", "csat_avg", "qa_avg", "tickets_opened",
  "tickets_closed", "tickets_missed_deadline"];
const PERCENT = new Set(["service_level", "fcr_rate"]);

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text != null) node.textContent = String(text);
  return node;
}

// figures in the user's language (digits, separators, the percent sign)
function format(key, value) {
  if (value == null) return "—";
  if (PERCENT.has(key)) return fmt.percent(value);
  return Number.isInteger(value) ? fmt.number(value) : fmt.number(value, key.endsWith("_avg") ? 2 : 1);
}

// local midnight of a date field's day, as an instant ("" when the field names no day)
function localMidnight(id) {
  const day = dateField.parse(document.getElementById(id).value);
  return day ? day.toISOString() : "";
}

function query() {
  const params = new URLSearchParams({
    from: localMidnight("r-from"), to: localMidnight("r-to"), tz: TIME_ZONE,
    group: document.getElementById("r-group").value,
    target_s: document.getElementById("r-target").value,
  });
  for (const [name, value] of [...params]) if (!value) params.delete(name);
  return params;
}

// a row's label as people read it: days and hours in the user's language, skills by name
function rowLabel(group, row) {
  const key = row.group ?? row.label;
  if (key == null || key === "") return t("reports.none");
  if (group === "day") {
    const [y, m, d] = String(key).slice(0, 10).split("-").map(Number);
    return fmt.day(new Date(y, m - 1, d));
  }
  if (group === "hour") return fmt.hour(new Date(String(key).slice(0, 19)));
  if (group === "skill" || group === "queue") return codeLabel("skill", key);
  return String(row.label ?? key);
}

// rows in time order (days, hours), else as the server sent them
function ordered(group, rows) {
  if (group !== "day" && group !== "hour") return rows;
  return [...rows].sort((a, b) => String(a.group ?? a.label).localeCompare(String(b.group ?? b.label)));
}

// a "nice" axis: about `count` steps of 1, 2 or 5 × 10^n, never a fractional count
export function niceTicks(max, count = 4, integer = true) {
  if (!(max > 0)) return { top: integer ? count : 1, step: integer ? 1 : 0.25 };
  let raw = max / count;
  if (integer) raw = Math.max(1, raw);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw && (!integer || Number.isInteger(s)));
  return { top: step * Math.ceil(max / step), step };
}

// grouped bars: one group of bars per row, one colour per series
function barChart(title, rows, series, { max = null, percent = false, label = (name) => t(`reports.col.${name}`) } = {}) {
  const width = 760, height = 260, left = 48, bottom = 64, top = 28;
  const highest = Math.max(0, ...rows.flatMap((r) => series.map((s) => r[s] || 0)));
  const ticks = max != null ? { top: Math.max(max, highest), step: max / 4 } : niceTicks(highest);
  const top_ = ticks.top;
  const plotW = width - left - 8, plotH = height - top - bottom;
  const groupW = plotW / Math.max(1, rows.length);
  const barW = Math.max(2, (groupW * 0.8) / series.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "r-chart",
    "aria-label": title });
  chart.append(svg("title", {}, title));
  for (let v = 0; v <= top_ + 1e-9; v += ticks.step) {
    const y = top + plotH - (plotH * v) / top_;
    chart.append(svg("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "r-grid" }));
    const text = percent ? fmt.percent(v, 0) : fmt.number(v);
    chart.append(svg("text", { x: left - 4, y: y + 4, class: "r-axis", "text-anchor": "end" }, text));
  }
  rows.forEach((row, i) => {
    series.forEach((name, j) => {
      const v = row[name] || 0;
      const h = (plotH * v) / top_;
      const bar = svg("rect", { x: left + i * groupW + groupW * 0.1 + j * barW, y: top + plotH - h,
        width: barW, height: Math.max(0, h), class: `r-bar r-s${j}` });
      bar.append(svg("title", {}, `${row.label} · ${label(name)}: ${format(name, row[name])}`));
      chart.append(bar);
    });
    if (rows.length <= 40 || i % Math.ceil(rows.length / 40) === 0) {
      const x = left + i * groupW + groupW / 2;
      chart.append(svg("text", { x, y: top + plotH + 12, class: "r-axis", "text-anchor": "end",
        transform: `rotate(-40 ${x} ${top + plotH + 12})` }, String(row.label).slice(0, 16)));
    }
  });
  series.forEach((name, j) => {
    chart.append(svg("rect", { x: left + j * 150, y: 4, width: 10, height: 10, class: `r-bar r-s${j}` }));
    chart.append(svg("text", { x: left + j * 150 + 14, y: 13, class: "r-legend" }, label(name)));
  });
  return el("figure", {}, el("figcaption", {}, title), chart);
}

function table(rows, total) {
  const head = el("tr", {}, el("th", { scope: "col" }, t("reports.col.label")),
    ...COLUMNS.map((c) => el("th", { scope: "col", class: "num" }, t(`reports.col.${c}`))));
  const line = (row, cls) => el("tr", { class: cls }, el("th", { scope: "row" }, row.label),
    ...COLUMNS.map((c) => el("td", { "data-col": c }, format(c, row[c]))));
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("reports.table") },
    el("table", { class: "r-table" }, el("thead", {}, head),
      el("tbody", {}, ...rows.map((r) => line(r, "")), line({ ...total, label: t("reports.group.total") }, "r-total"))));
}

async function loadReport() {
  const out = document.getElementById("r-output");
  const params = query();
  document.getElementById("r-csv").setAttribute("href", `/api/kpis.csv?${params}`);
  try {
    const report = await api(`/api/kpis?${params}`);
    const group = report.group || params.get("group");
    const rows = ordered(group, report.rows).map((r) => ({ ...r, label: rowLabel(group, r) }));
    if (!rows.length || report.total.offered === 0 && report.total.tickets_opened === 0) {
      out.replaceChildren(el("p", {}, t("reports.empty")));
    } else {
      out.replaceChildren(
        el("p", { class: "r-overdue" }, `${t("reports.overdue_now")}: ${report.tickets_overdue_now}`),
        el("div", { class: "r-charts" },
          barChart(t("reports.chart_volume"), rows, ["offered", "answered", "abandoned"]),
          barChart(t("reports.chart_sl"), rows, ["service_level"], { max: 1, percent: true })),
        table(rows, report.total));
    }
    out.dataset.ready = "true";
  } catch (error) {
    out.replaceChildren(el("p", { class: "r-error" }, `${t("reports.error")}: ${error.message}`));
  }
  await loadPauses(params.get("from") || "", params.get("to") || "");
}

function parseIntervals(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const cells = line.split(/[,;\t]/).map((s) => s.trim());
    const calls = Number(cells.length > 1 ? cells[1] : cells[0]);
    return { interval_start: cells.length > 1 ? cells[0] : "", calls };
  });
}

async function computeStaffing() {
  const out = document.getElementById("s-output");
  const number = (id) => Number(document.getElementById(id).value);
  const body = { intervals: parseIntervals(document.getElementById("s-intervals").value),
    interval_minutes: number("s-minutes"), aht_s: number("s-aht"), target: number("s-target") / 100,
    within_s: number("s-within") };
  const shrinkage = document.getElementById("s-shrinkage").value;
  if (shrinkage !== "") body.shrinkage = Number(shrinkage) / 100;
  try {
    const result = await api("/api/staffing", body);
    const rows = result.intervals.map((r) => ({ ...r, label: r.interval_start || "—" }));
    out.replaceChildren(
      el("p", {}, `${t("reports.staffing.peak")}: ${result.peak_agents}`),
      barChart(t("reports.staffing.agents"), rows, ["agents"], { label: () => t("reports.staffing.agents") }),
      el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("reports.staffing") }, el("table", { class: "r-table" }, el("thead", {}, el("tr", {},
        ...["start", "calls", "agents", "scheduled", "occupancy"].map((k) => el("th", {}, t(`reports.staffing.${k}`))),
        el("th", {}, t("reports.col.service_level")), el("th", {}, t("reports.col.asa_s")))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, el("td", {}, r.label), el("td", {}, r.calls),
        el("td", { "data-col": "agents" }, r.agents), el("td", {}, r.scheduled_agents ?? "—"),
        el("td", {}, fmt.percent(r.occupancy)),
        el("td", {}, fmt.percent(r.service_level)), el("td", {}, fmt.number(r.asa_s, 1))))))));
    out.dataset.ready = "true";
  } catch (error) {
    out.replaceChildren(el("p", { class: "r-error" }, error.message));
  }
}

async function loadHistory() {
  const params = query();
  params.delete("group"); params.delete("target_s");
  params.set("interval_minutes", document.getElementById("s-minutes").value);
  try {
    const history = await api(`/api/staffing/history?${params}`);
    document.getElementById("s-intervals").value =
      history.intervals.map((r) => `${r.interval_start}, ${r.calls}`).join("\n");
    if (history.aht_s) document.getElementById("s-aht").value = Math.round(history.aht_s);
  } catch (error) {
    document.getElementById("s-output").replaceChildren(el("p", { class: "r-error" }, error.message));
  }
}

function input(id, label, attrs) {
  return el("label", { for: id }, label, el("input", { id, ...attrs }));
}

async function start() {
  const main = document.getElementById("reports");
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 7 * 86400000);
  const tomorrow = new Date(today.getTime() + 86400000);
  const group = el("select", { id: "r-group" }, ...["day", "hour", "agent", "skill", "queue", "total"]
    .map((g) => el("option", { value: g }, t(`reports.group.${g}`))));
  const form = el("form", { class: "r-form" },
    dateInput({ id: "r-from", text: t("reports.from"), value: weekAgo, required: true }),
    dateInput({ id: "r-to", text: t("reports.to"), value: tomorrow, required: true }),
    el("label", { for: "r-group" }, t("reports.group"), group),
    input("r-target", t("reports.target"), { type: "number", value: 20, min: 0, max: 3600 }),
    el("button", { type: "submit" }, t("reports.show")),
    el("a", { id: "r-csv", href: "/api/kpis.csv", download: "" }, t("reports.csv")));
  form.addEventListener("submit", (event) => { event.preventDefault(); loadReport(); });
  const staffing = el("form", { class: "r-form r-staffing" },
    el("label", { for: "s-intervals", class: "r-wide" }, t("reports.staffing.intervals"),
      el("textarea", { id: "s-intervals", rows: 6 }, "09:00, 100\n09:30, 120\n10:00, 140")),
    input("s-minutes", t("reports.staffing.interval_minutes"), { type: "number", value: 30, min: 5, max: 240 }),
    input("s-aht", t("reports.staffing.aht"), { type: "number", value: 180, min: 1 }),
    input("s-target", t("reports.staffing.target"), { type: "number", value: 80, min: 1, max: 99 }),
    input("s-within", t("reports.staffing.within"), { type: "number", value: 20, min: 0 }),
    input("s-shrinkage", t("reports.staffing.shrinkage"), { type: "number", value: 30, min: 0, max: 95 }),
    el("button", { type: "button", id: "s-history", onclick: loadHistory }, t("reports.staffing.load_history")),
    el("button", { type: "submit", id: "s-compute" }, t("reports.staffing.compute")));
  staffing.addEventListener("submit", (event) => { event.preventDefault(); computeStaffing(); });
  main.replaceChildren(form, el("section", { id: "r-output" }), pauseSection(),
    el("h2", {}, t("reports.staffing")), staffing, el("section", { id: "s-output" }));
  await loadReport();
}

start().catch((error) => {
  document.getElementById("reports").append(el("p", { class: "r-error" }, error.message));
});
