"""``/api/calls``: the call history and live calls, filtered, for supervisors, QA and agents
(an agent sees only the calls they took)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from callcenter.calls.agent_legs import agent_legs
from callcenter.store import call_history
from callcenter.store.call_history import CallFilter
from callcenter.web.auth import require
from callcenter.web.errors import api_error
from callcenter.web.keys import POOL
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import path_id, query_choice, query_int, query_text, query_time

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
LEG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {k: {"type": t} for k, t in (
        ("channel", "string"), ("agent", "string"), ("started_at", "string"),
        ("answered_at", "string"), ("talk_started_at", "string"), ("ended_at", "string"),
        ("talk_s", "number"), ("ended_how", "string"), ("transferred_to", "string"),
        ("note", "string"), ("recording_from_s", "number"), ("recording_to_s", "number"))},
}
CALL_DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {**CALL_SCHEMA["properties"], "legs": {"type": "array", "items": LEG_SCHEMA}},
}

async def list_calls(request: web.Request) -> web.Response:
    session = require(request, "supervisor", "admin", "qa", "agent")
    number = query_text(request, "caller_number", 32)
    wanted = CallFilter(
        agent_id=session.user.agent_id, only_agent=session.user.role == "agent",
        state=query_choice(request, "state", STATES), outcome=query_choice(request, "outcome", OUTCOMES),
        since=query_time(request, "from"), until=query_time(request, "to"), caller_number=number,
        limit=query_int(request, "limit", 50, 1, 500), offset=query_int(request, "offset", 0, 0, 1_000_000))
    calls = await call_history.list_calls(request.app[POOL], wanted)
    return web.json_response({"calls": calls, "limit": wanted.limit, "offset": wanted.offset})


async def get_call(request: web.Request) -> web.Response:
    session = require(request, "supervisor", "admin", "qa", "agent")
    call_id = path_id(request, "call_id", "no such call")
    pool = request.app[POOL]
    call = await call_history.get_call(pool, call_id)
    legs = await agent_legs(pool, call_id) if call is not None else []
    # another agent's call and no call at all look the same: ids must not leak which exist; an
    # agent who talked on the call and transferred it still sees it
    if call is None or (session.user.role == "agent" and call["agent_id"] != session.user.agent_id
                        and not await _took_part(pool, call_id, session.user.agent_id)):
        raise api_error(404, "no such call", "not_found")
    return web.json_response({**call, "legs": legs})


async def _took_part(pool: asyncpg.Pool, call_id: int, agent_id: int | None) -> bool:
    return agent_id is not None and bool(await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM call_legs WHERE call_id = $1 AND agent_id = $2"
        " AND talk_started_at IS NOT NULL)", call_id, agent_id))


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
                  params=(Param("call_id", "path", {"type": "integer"}),),
                  response=CALL_DETAIL_SCHEMA))
