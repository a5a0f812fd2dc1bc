"""``/api/pause-reasons``: the configured pause reasons with their labels (every role that logs
in: the agent desktop's pause menu and the wallboard read it); ``/api/kpis/pauses``: pause time
and count by agent, day and reason (supervisors and admins).

Wiring: a feature (``make_app(..., features=[api_pauses.register])``); needs the agents service.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from callcenter.kpi.pauses import by_reason, pause_kpis
from callcenter.kpi.report import KpiError
from callcenter.web.auth import require
from callcenter.web.csv_cells import safe_cell
from callcenter.web.errors import api_error
from callcenter.web.keys import AGENTS, CLOCK, POOL
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import query_time

STAFF = ("supervisor", "admin")
MAX_DAYS = 400
CSV_COLUMNS = ("day", "agent_id", "name", "reason", "count", "seconds")


async def pause_reasons(request: web.Request) -> web.Response:
    require(request)
    return web.json_response({"reasons": request.app[AGENTS].pause_reasons.to_json()})


async def _report(request: web.Request) -> dict[str, Any]:
    now = datetime.fromtimestamp(request.app[CLOCK].now(), UTC)
    end = query_time(request, "to") or now
    start = query_time(request, "from") or end - timedelta(days=7)
    if end - start > timedelta(days=MAX_DAYS):
        raise api_error(400, f"the period may span at most {MAX_DAYS} days", "bad_parameter",
                        parameter="from")
    tz = request.query.get("tz") or "UTC"
    try:
        rows = await pause_kpis(request.app[POOL], start, end, now, tz)
    except KpiError as exc:
        raise api_error(400, str(exc), "bad_parameter") from None
    return {"from": start.isoformat(), "to": end.isoformat(), "tz": tz,
            "rows": [r.to_json() for r in rows], "by_reason": by_reason(rows)}


async def pause_report(request: web.Request) -> web.Response:
    require(request, *STAFF)
    return web.json_response(await _report(request))


async def pause_report_csv(request: web.Request) -> web.Response:
    require(request, *STAFF)
    report = await _report(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        writer.writerow([safe_cell(row[c]) for c in CSV_COLUMNS])  # names are user data
    name = f"pauses-{report['from'][:10]}-{report['to'][:10]}.csv"
    return web.Response(body=buffer.getvalue().encode("utf-8-sig"), headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'})


def register(app: web.Application, api: Api) -> None:
    del app
    api.add(Route("GET", "/api/pause-reasons", pause_reasons,
                  "The pause reasons an agent may choose, with labels in each language",
                  ("agent", "supervisor", "qa", "admin")))
    params = (Param("from", "query", {"type": "string", "format": "date-time"}, "default: 7 days before to"),
              Param("to", "query", {"type": "string", "format": "date-time"}, "default: now"),
              Param("tz", "query", {"type": "string"}, "IANA time zone; default UTC"))
    api.add(Route("GET", "/api/kpis/pauses", pause_report,
                  "Pause time and count by agent, day and reason over a period", STAFF, params=params))
    api.add(Route("GET", "/api/kpis/pauses.csv", pause_report_csv, "The pause report as CSV (UTF-8 with BOM)",
                  STAFF, params=params, response={"type": "string"}))
