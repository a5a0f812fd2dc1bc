"""``/api/supervision``: supervisors on live calls and on agents' states (roles supervisor and
admin; an agent gets 403).

- ``PUT /api/supervision/phone`` ``{"phone": "PJSIP/1009"}``: the phone the server rings.
- ``POST /api/supervision/calls/{call}/monitor`` ``{"mode": "listen"|"whisper"|"barge"}``:
  rings that phone into the call; answers 201 once it is picked up (404 no such call, 409 the
  call ended / no agent yet / no phone / already monitoring / barge taken / phone unavailable).
- ``POST /api/supervision/sessions/{id}/mode`` switches mode; ``DELETE …/sessions/{id}`` stops.
- ``GET /api/supervision/sessions`` (live), ``GET /api/supervision/calls/{call}/sessions`` (audit).
- ``POST /api/supervision/agents/{agent}/state`` ``{"state", "reason"}``: force a state, audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from callcenter.agents.errors import AgentError
from callcenter.supervision.errors import SupervisionError
from callcenter.supervision.force import STATES, force_state
from callcenter.supervision.model import Mode
from callcenter.supervision.service import SupervisionService
from callcenter.web.auth import remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.keys import AGENTS, SESSION
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import json_object

ROLES = ("supervisor", "admin")
SUPERVISION = web.AppKey("supervision", SupervisionService)
_MAX_PHONE = 128


def _mode(body: dict[str, Any]) -> Mode:
    try:
        return Mode(str(body.get("mode")))
    except ValueError:
        raise api_error(400, "mode must be listen, whisper or barge", "bad_parameter",
                        parameter="mode") from None


def _session_id(request: web.Request) -> int:
    raw = request.match_info["session"]
    if not raw.isdigit() or len(raw) > 18:
        raise api_error(404, f"no session {raw!r}", "session_not_found")
    return int(raw)


def _error(exc: SupervisionError | AgentError) -> web.HTTPException:
    return api_error(exc.status, exc.message, exc.error_id)


async def _audit(request: web.Request, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    await request.app[SESSION].audit(actor, action, target=target, remote=remote_of(request), detail=detail)


async def monitor(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    mode = _mode(await json_object(request, max_bytes=4096))
    call_id = request.match_info["call"]
    try:
        started = await request.app[SUPERVISION].start(session.user.login, call_id, mode)
    except SupervisionError as exc:
        raise _error(exc) from None
    await _audit(request, session.user.login, "call_monitor_started", call_id,
                 {"mode": mode.value, "session": started.id, "agent": started.agent_id})
    return web.json_response(started.to_json(), status=201)


async def switch_mode(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    mode = _mode(await json_object(request, max_bytes=4096))
    try:
        started = await request.app[SUPERVISION].switch(session.user.login, _session_id(request), mode)
    except SupervisionError as exc:
        raise _error(exc) from None
    await _audit(request, session.user.login, "call_monitor_switched", started.call_id,
                 {"mode": mode.value, "session": started.id})
    return web.json_response(started.to_json())


async def stop(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    try:
        ended = await request.app[SUPERVISION].stop(session.user.login, _session_id(request))
    except SupervisionError as exc:
        raise _error(exc) from None
    await _audit(request, session.user.login, "call_monitor_stopped", ended.call_id, {"session": ended.id})
    return web.json_response(ended.to_json())


async def live_sessions(request: web.Request) -> web.Response:
    require(request, *ROLES)
    return web.json_response({"sessions": [s.to_json() for s in request.app[SUPERVISION].sessions()]})


async def call_sessions(request: web.Request) -> web.Response:
    require(request, *ROLES)
    rows = await request.app[SUPERVISION].store.history(request.match_info["call"])
    return web.json_response({"sessions": rows})


async def get_phone(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    return web.json_response({"phone": await request.app[SUPERVISION].store.phone(session.user.login)})


async def set_phone(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    phone = (await json_object(request, max_bytes=4096)).get("phone")
    if phone is not None and (not isinstance(phone, str) or "/" not in phone or len(phone) > _MAX_PHONE
                              or any(c.isspace() or c == "," or ord(c) < 32 for c in phone)):
        raise api_error(400, "phone must be an Asterisk dial string such as PJSIP/1009 (or null)",
                        "bad_parameter", parameter="phone")
    await request.app[SUPERVISION].store.set_phone(session.user.login, phone)
    await _audit(request, session.user.login, "supervisor_phone_set", session.user.login, {"phone": phone})
    return web.json_response({"phone": phone})


async def set_agent_state(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    body = await json_object(request, max_bytes=4096)
    state, reason = body.get("state"), body.get("reason") or ""
    if state not in STATES or not isinstance(reason, str) or len(reason) > 64:
        raise api_error(400, f"state must be one of {', '.join(STATES)}; reason a configured pause"
                             " reason", "bad_parameter", parameter="state")
    agent_id = request.match_info["agent"]
    try:
        status, detail = force_state(request.app[AGENTS], agent_id, state, reason)
    except AgentError as exc:
        raise _error(exc) from None
    await _audit(request, session.user.login, "agent_state_forced", agent_id, detail)
    return web.json_response({**status.to_json(), "forced_by": session.user.login})


def feature(service: SupervisionService) -> Callable[[web.Application, Api], None]:
    def register(app: web.Application, api: Api) -> None:
        app[SUPERVISION] = service
        _routes(api)

    return register


def _routes(api: Api) -> None:
    call = Param("call", "path", {"type": "string"}, "the call's id (its linkedid)")
    sid = Param("session", "path", {"type": "integer"}, "a monitoring session's id")
    mode = {"type": "object", "required": ["mode"],
            "properties": {"mode": {"type": "string", "enum": [m.value for m in Mode]}}}
    api.add(Route("POST", "/api/supervision/calls/{call}/monitor", monitor,
                  "Listen to, whisper into or barge into a live call through your phone", ROLES,
                  params=(call,), body=mode))
    api.add(Route("POST", "/api/supervision/sessions/{session}/mode", switch_mode,
                  "Switch a monitoring session's mode (your phone rings again)", ROLES,
                  params=(sid,), body=mode))
    api.add(Route("DELETE", "/api/supervision/sessions/{session}", stop, "Stop monitoring", ROLES,
                  params=(sid,)))
    api.add(Route("GET", "/api/supervision/sessions", live_sessions, "Live monitoring sessions", ROLES))
    api.add(Route("GET", "/api/supervision/calls/{call}/sessions", call_sessions,
                  "Every monitoring session of a call (audit)", ROLES, params=(call,)))
    api.add(Route("GET", "/api/supervision/phone", get_phone, "Your phone for monitoring", ROLES))
    api.add(Route("PUT", "/api/supervision/phone", set_phone, "Set your phone (a dial string)", ROLES,
                  body={"type": "object", "properties": {"phone": {"type": ["string", "null"]}}}))
    api.add(Route("POST", "/api/supervision/agents/{agent}/state", set_agent_state,
                  "Force an agent's state (audited)", ROLES,
                  params=(Param("agent", "path", {"type": "string"}, "the agent's login"),),
                  body={"type": "object", "required": ["state"], "properties": {
                      "state": {"type": "string", "enum": list(STATES)},
                      "reason": {"type": "string", "maxLength": 64}}}))
