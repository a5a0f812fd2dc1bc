"""``/api/kpis`` (JSON and ``.csv``): service KPIs per agent, skill, queue, day or hour, rebuilt
from the stored calls and tickets for any period; ``/api/staffing``: Erlang C agents per
interval; ``/api/staffing/history``: a typical day's arrivals per interval from the history.
Roles supervisor and admin.

Wiring: ``make_app(..., features=[api_kpis.register, reports_page.register])``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from callcenter.kpi.callbacks import callback_kpis
from callcenter.kpi.report import (
    GROUPINGS,
    CallKpis,
    Grouping,
    GroupTickets,
    KpiError,
    call_kpis,
    check_tz,
    ticket_kpis,
    ticket_kpis_by,
)
from callcenter.staffing.cli import to_json as staffing_json
from callcenter.staffing.pool import IntervalInput, StaffingBusy, StaffingPool
from callcenter.store.arrivals import arrivals_by_slot
from callcenter.store.directory import agent_names
from callcenter.web.auth import require
from callcenter.web.csv_cells import safe_cell
from callcenter.web.errors import api_error
from callcenter.web.keys import CLOCK, POOL, STAFFING_POOL
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import json_object, query_choice, query_float, query_time

ROLES = ("supervisor", "admin")
MAX_DAYS = 400
MAX_INTERVALS = 2000
# Erlang C costs O(agents) per interval: bound the traffic so one request stays bounded work.
MAX_ERLANGS = 20_000.0
MAX_TOTAL_ERLANGS = 400_000.0
CSV_COLUMNS = ("group", "label", "offered", "answered", "abandoned", "short_abandons",
               "answered_within_target", "service_level", "asa_s", "aht_s", "talk_s", "hold_s",
               "wrap_up_s", "fcr_eligible", "fcr_resolved", "fcr_rate", "csat_responses", "csat_avg",
               "qa_count", "qa_avg", "tickets_opened", "tickets_closed", "tickets_missed_deadline")


def _float_param(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    value = query_float(request, name, default, low, high)
    assert value is not None
    return value


def _period(request: web.Request) -> tuple[datetime, datetime]:
    end = query_time(request, "to") or datetime.fromtimestamp(request.app[CLOCK].now(), UTC)
    start = query_time(request, "from") or end - timedelta(days=7)
    if end <= start:
        raise api_error(400, "to must be after from", "bad_parameter", parameter="to")
    if end - start > timedelta(days=MAX_DAYS):
        raise api_error(400, f"the period may span at most {MAX_DAYS} days", "bad_parameter",
                        parameter="from")
    return start, end


def _key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


@dataclass(frozen=True, slots=True)
class _Rows:
    """How a report's rows are labelled and completed with the ticket counts."""

    grouping: Grouping
    names: dict[int, str]
    tickets: dict[Any, GroupTickets]

    def row(self, kpis: CallKpis | None, key: Any) -> dict[str, Any]:
        out: dict[str, Any] = dict.fromkeys(CSV_COLUMNS)
        if kpis is not None:
            out.update(kpis.to_json())
        out["group"] = key
        out["label"] = self.names.get(key, str(key)) if self.grouping == "agent" and key is not None else \
            ("—" if key is None else str(key))
        t = self.tickets.get(key)
        out["tickets_opened"] = t.opened if t else 0
        out["tickets_closed"] = t.closed if t else 0
        out["tickets_missed_deadline"] = t.missed_deadline if t else 0
        for name in ("offered", "answered", "abandoned", "short_abandons", "answered_within_target",
                     "fcr_eligible", "fcr_resolved", "csat_responses", "qa_count"):
            out[name] = out[name] or 0
        return out


async def kpi_report(request: web.Request) -> dict[str, Any]:
    """The report behind both the JSON and the CSV."""
    start, end = _period(request)
    grouping: Grouping = query_choice(request, "group", GROUPINGS) or "day"  # type: ignore[assignment]
    tz = request.query.get("tz") or "UTC"
    target = _float_param(request, "target_s", 20.0, 0, 3600)
    pool = request.app[POOL]
    now = datetime.fromtimestamp(request.app[CLOCK].now(), UTC)
    try:
        calls = await call_kpis(pool, start, end, grouping, target_s=target, tz=tz)
        [total] = await call_kpis(pool, start, end, target_s=target, tz=tz)
        tickets = {_key(t.group): t for t in await ticket_kpis_by(pool, start, end, now, grouping, tz=tz)}
        [ticket_total] = await ticket_kpis_by(pool, start, end, now, tz=tz)
        snapshot = await ticket_kpis(pool, start, end, now)
        callbacks = await callback_kpis(pool, start, end)
    except KpiError as exc:
        raise api_error(400, str(exc), "bad_parameter") from None
    rows = _Rows(grouping, await agent_names(pool) if grouping == "agent" else {}, tickets)
    by_key = {_key(k.group): k for k in calls}
    keys = list(by_key) + [k for k in tickets if k not in by_key]
    total_row = rows.row(total, None)
    total_row.update(tickets_opened=ticket_total.opened, tickets_closed=ticket_total.closed,
                     tickets_missed_deadline=ticket_total.missed_deadline, label="total")
    listed = [rows.row(by_key.get(k), k) for k in keys] if grouping != "total" else [rows.row(total, None)]
    return {"from": start.isoformat(), "to": end.isoformat(), "group": grouping, "tz": tz,
            "target_s": target, "rows": listed, "total": total_row,
            "tickets_overdue_now": snapshot.overdue, "callbacks": callbacks.to_json()}


async def kpis(request: web.Request) -> web.Response:
    require(request, *ROLES)
    return web.json_response(await kpi_report(request))


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    return safe_cell(value)  # no formulas in spreadsheets (agent names are user data)


async def kpis_csv(request: web.Request) -> web.Response:
    require(request, *ROLES)
    report = await kpi_report(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in [*report["rows"], report["total"]]:
        writer.writerow([_csv_value(row[c]) for c in CSV_COLUMNS])
    name = f"kpis-{report['group']}-{report['from'][:10]}-{report['to'][:10]}.csv"
    return web.Response(body=buffer.getvalue().encode("utf-8-sig"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"'})


def _number(body: dict[str, Any], name: str, *, required: bool = True,
            default: float | None = None) -> float | None:
    value = body.get(name, default)
    if value is None:
        if required:
            raise api_error(400, f"{name} is required", "bad_parameter", parameter=name)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise api_error(400, f"{name} must be a number", "bad_parameter", parameter=name)
    return float(value)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A staffing request: the service goal, the interval length and the intervals' traffic."""

    minutes: float
    rows: list[IntervalInput]
    given: list[tuple[float, float]]  # (calls, aht_s) of each interval as sent
    raw: list[Any]


def _intervals(body: dict[str, Any]) -> tuple[list[Any], float]:
    minutes = _number(body, "interval_minutes", default=30.0)
    assert minutes is not None
    if not 0 < minutes <= 1440:
        raise api_error(400, "interval_minutes must be in (0, 1440]", "bad_parameter",
                        parameter="interval_minutes")
    raw = body.get("intervals")
    if raw is None and body.get("calls_per_hour") is not None:
        raw = [{"interval_start": "", "calls": _number(body, "calls_per_hour")}]
        minutes = 60.0
    if not isinstance(raw, list) or not raw or len(raw) > MAX_INTERVALS:
        raise api_error(400, f"intervals must be a list of 1 to {MAX_INTERVALS} objects"
                             " {interval_start, calls[, aht_s]} (or give calls_per_hour)",
                        "bad_parameter", parameter="intervals")
    return raw, minutes


def _plan(body: dict[str, Any]) -> _Plan:
    """The staffing request in ``body``, its traffic bounded (one request is bounded work)."""
    aht, target, within = _number(body, "aht_s"), _number(body, "target"), _number(body, "within_s")
    shrinkage = _number(body, "shrinkage", required=False)
    max_occ = _number(body, "max_occupancy", required=False)
    assert aht is not None and target is not None and within is not None
    raw, minutes = _intervals(body)
    plan = _Plan(minutes, [], [], raw)
    total_erlangs = 0.0
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise api_error(400, f"interval {n} must be an object", "bad_parameter", parameter="intervals")
        calls = _number(item, "calls")
        row_aht = _number(item, "aht_s", required=False) or aht
        assert calls is not None
        erlangs = calls * 60.0 / minutes * row_aht / 3600.0 if calls >= 0 and row_aht > 0 else 0.0
        if erlangs > MAX_ERLANGS:
            raise api_error(400, f"interval {n}: more than {MAX_ERLANGS:g} Erlangs of traffic",
                            "bad_parameter", parameter="intervals")
        total_erlangs += erlangs
        plan.rows.append(IntervalInput(calls * 60.0 / minutes, row_aht, target, within, shrinkage, max_occ))
        plan.given.append((calls, row_aht))
    if total_erlangs > MAX_TOTAL_ERLANGS:
        raise api_error(400, f"the intervals add up to more than {MAX_TOTAL_ERLANGS:g} Erlangs",
                        "bad_parameter", parameter="intervals")
    return plan


async def staffing(request: web.Request) -> web.Response:
    require(request, *ROLES)
    plan = _plan(await json_object(request))
    try:
        results = await request.app[STAFFING_POOL].run(plan.rows)
    except StaffingBusy as exc:
        raise api_error(503, str(exc), "busy") from None
    out = []
    for n, (item, result) in enumerate(zip(plan.raw, results, strict=True), 1):
        if isinstance(result, str):
            raise api_error(400, f"interval {n}: {result}", "bad_parameter", parameter="intervals")
        out.append({"interval_start": str(item.get("interval_start", ""))[:64],
                    "calls": plan.given[n - 1][0], "aht_s": plan.given[n - 1][1], **staffing_json(result)})
    peak = max(r["agents"] for r in out)
    return web.json_response({"interval_minutes": plan.minutes, "intervals": out, "peak_agents": peak,
                              "peak_scheduled_agents": max((r.get("scheduled_agents", 0) for r in out),
                                                           default=0) or None})


async def staffing_history(request: web.Request) -> web.Response:
    """A typical day from the history: offered calls per interval of the day, averaged over the
    days of the period, and the period's AHT."""
    require(request, *ROLES)
    start, end = _period(request)
    tz = request.query.get("tz") or "UTC"
    try:
        check_tz(tz)
    except KpiError as exc:
        raise api_error(400, str(exc), "bad_parameter", parameter="tz") from None
    minutes = int(_float_param(request, "interval_minutes", 30, 5, 240))
    if 1440 % minutes:
        raise api_error(400, "interval_minutes must divide a day (15, 30, 60…)", "bad_parameter",
                        parameter="interval_minutes")
    days = max(1.0, (end - start).total_seconds() / 86400)
    pool = request.app[POOL]
    try:
        slots = await arrivals_by_slot(pool, start, end, tz, minutes * 60)
        [total] = await call_kpis(pool, start, end, tz=tz)
    except (asyncpg.InvalidParameterValueError, KpiError) as exc:
        raise api_error(400, f"bad time zone {tz!r}: {exc}", "bad_parameter", parameter="tz") from None
    intervals = [{"interval_start": f"{slot * minutes // 60:02d}:{slot * minutes % 60:02d}",
                  "calls": round(calls / days, 2)} for slot, calls in slots]
    return web.json_response({"from": start.isoformat(), "to": end.isoformat(), "days": round(days, 2),
                              "interval_minutes": minutes, "aht_s": total.aht_s,
                              "intervals": intervals})


async def _staffing_pool(app: web.Application) -> AsyncIterator[None]:
    app[STAFFING_POOL] = StaffingPool()
    yield
    app[STAFFING_POOL].close()


def register(app: web.Application, api: Api) -> None:
    app.cleanup_ctx.append(_staffing_pool)
    period = (Param("from", "query", {"type": "string", "format": "date-time"},
                    "default: 7 days before to"),
              Param("to", "query", {"type": "string", "format": "date-time"}, "default: now"))
    params = (*period,
              Param("group", "query", {"type": "string", "enum": list(GROUPINGS)}, "default: day"),
              Param("tz", "query", {"type": "string"}, "IANA time zone for day/hour; default UTC"),
              Param("target_s", "query", {"type": "number"}, "service level target; default 20"))
    api.add(Route("GET", "/api/kpis", kpis, "Service KPIs per group over a period", ROLES,
                  params=params))
    api.add(Route("GET", "/api/kpis.csv", kpis_csv, "The KPIs as CSV (UTF-8 with BOM)", ROLES,
                  params=params, response={"type": "string"}))
    api.add(Route("POST", "/api/staffing", staffing, "Agents per interval (Erlang C)", ROLES,
                  body={"type": "object", "required": ["aht_s", "target", "within_s"], "properties": {
                      "aht_s": {"type": "number"}, "target": {"type": "number"},
                      "within_s": {"type": "number"}, "shrinkage": {"type": "number"},
                      "max_occupancy": {"type": "number"}, "interval_minutes": {"type": "number"},
                      "calls_per_hour": {"type": "number"},
                      "intervals": {"type": "array", "items": {"type": "object"}}}}))
    api.add(Route("GET", "/api/staffing/history", staffing_history,
                  "A typical day's arrivals per interval, from the stored calls", ROLES,
                  params=(*period, Param("tz", "query", {"type": "string"}),
                          Param("interval_minutes", "query", {"type": "integer"}))))
