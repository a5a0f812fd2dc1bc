"""``/api/calls``: the call history and live calls, filtered, for supervisors, QA and agents
(an agent sees only the calls they took)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from callcenter.web.auth import require
from callcenter.web.errors import api_error
from callcenter.web.ids import path_id, query_int
from callcenter.web.openapi import Api, Param, Route

POOL = web.AppKey("pool", asyncpg.Pool)
STATES = ("ivr", "queued", "offered", "talking", "ended")
OUTCOMES = ("answered", "abandoned", "failed", "ivr_hangup")

CALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {k: {"type": t} for k, t in (
        ("id", "integer"), ("linkedid", "string"), ("caller_number", "string"),
        ("caller_name", "string"), ("state", "string"), ("outcome", "string"),
        ("agent_channel", "string"), ("digits", "string"), ("hangup_cause", "integer"),
        ("hangup_by", "string"), ("end_reason", "string"), ("arrived_at", "string"),
        ("answered_at", "string"),
        ("ended_at", "string"), ("duration_s", "number"))},
}

_COLUMNS = ("id, linkedid, caller_number, caller_name, state, outcome, agent_channel, digits,"
            " hangup_cause, hangup_by, end_reason, arrived_at, queued_at, answered_at, bridged_at,"
            " ended_at,"
            " agent_id, offers, ivr_path")


def _row(row: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif key in ("offers", "ivr_path") and isinstance(value, str):
            out[key] = json.loads(value)
        else:
            out[key] = value
    if row["ended_at"] is not None:
        out["duration_s"] = round((row["ended_at"] - row["arrived_at"]).total_seconds(), 3)
    return out


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    return query_int(request, name, default, low, high)


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise api_error(400, f"{name} must be an ISO 8601 time", "bad_parameter", parameter=name) from None
    if value.tzinfo is None:
        raise api_error(400, f"{name} needs a time zone (e.g. Z or +08:00)", "bad_parameter",
                        parameter=name)
    return value


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise api_error(400, f"{name} must be one of {', '.join(allowed)}", "bad_parameter",
                        parameter=name)
    return raw


async def list_calls(request: web.Request) -> web.Response:
    session = require(request, "supervisor", "admin", "qa", "agent")
    where: list[str] = []
    args: list[Any] = []

    def add(clause: str, value: Any) -> None:
        args.append(value)
        where.append(clause.replace("?", f"${len(args)}"))

    if session.user.role == "agent":
        add("agent_id = ?", session.user.agent_id)
    state = _choice(request, "state", STATES)
    if state:
        add("state = ?", state)
    outcome = _choice(request, "outcome", OUTCOMES)
    if outcome:
        add("outcome = ?", outcome)
    since, until = _time(request, "from"), _time(request, "to")
    if since:
        add("arrived_at >= ?", since)
    if until:
        add("arrived_at < ?", until)
    number = request.query.get("caller_number", "")
    if number:
        if len(number) > 32:
            raise api_error(400, "caller_number is too long", "bad_parameter", parameter="caller_number")
        add("caller_number = ?", number)
    limit = _int(request, "limit", 50, 1, 500)
    offset = _int(request, "offset", 0, 0, 1_000_000)
    sql = (f"SELECT {_COLUMNS} FROM calls {'WHERE ' + ' AND '.join(where) if where else ''}"
           f" ORDER BY arrived_at DESC, id DESC LIMIT {limit} OFFSET {offset}")
    rows = await request.app[POOL].fetch(sql, *args)
    return web.json_response({"calls": [_row(r) for r in rows], "limit": limit, "offset": offset})


async def get_call(request: web.Request) -> web.Response:
    session = require(request, "supervisor", "admin", "qa", "agent")
    call_id = path_id(request, "call_id", "no such call")
    row = await request.app[POOL].fetchrow(f"SELECT {_COLUMNS} FROM calls WHERE id = $1", call_id)
    # another agent's call and no call at all look the same: ids must not leak which exist
    if row is None or (session.user.role == "agent" and row["agent_id"] != session.user.agent_id):
        raise api_error(404, "no such call", "not_found")
    return web.json_response(_row(row))


def register(api: Api) -> None:
    api.add(Route("GET", "/api/calls", list_calls, "List calls, newest first",
                  ("supervisor", "admin", "qa", "agent"),
                  params=(Param("state", "query", {"type": "string", "enum": list(STATES)}),
                          Param("outcome", "query", {"type": "string", "enum": list(OUTCOMES)}),
                          Param("from", "query", {"type": "string", "format": "date-time"}),
                          Param("to", "query", {"type": "string", "format": "date-time"}),
                          Param("caller_number", "query", {"type": "string", "maxLength": 32}),
                          Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
                          Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": 1000000})),
                  response={"type": "object", "properties": {
                      "calls": {"type": "array", "items": CALL_SCHEMA},
                      "limit": {"type": "integer"}, "offset": {"type": "integer"}}}))
    api.add(Route("GET", "/api/calls/{call_id}", get_call, "One call",
                  ("supervisor", "admin", "qa", "agent"),
                  params=(Param("call_id", "path", {"type": "integer"}),), response=CALL_SCHEMA))
