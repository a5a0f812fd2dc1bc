"""``POST /api/calls/{call_id}/control``: the agent acts on the live call they talk on (hang up,
hold / resume, mute / unmute). ``call_id`` is the live call's id as the agent's screen has it
(the pop's ``call_id``); ``{"action": "transfer", "skill": ..., "note": ...}`` sends the caller
back to routing for that skill; ``{"action": "consult", "agent": ...}`` (or ``"skill"``: its first
ready agent) rings a colleague while the caller holds, then ``complete``, ``cancel`` or
``conference``. Another agent's call, or no call at all, is one 404, as elsewhere."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web

from callcenter.control.plan import Refused, Verb
from callcenter.control.service import ControlService
from callcenter.control.transfers import MAX_NOTE
from callcenter.store.directory import agent_login
from callcenter.web.auth import require
from callcenter.web.errors import api_error
from callcenter.web.keys import POOL
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import json_object

CONTROL = web.AppKey("call_control", ControlService)
_CALL_ID = re.compile(r"^[0-9]{1,20}\.[0-9]{1,10}$")
VERBS = [v.value for v in Verb]

STATE_SCHEMA = {"type": "object", "properties": {
    "call_id": {"type": "string"}, "held": {"type": "boolean"}, "muted": {"type": "boolean"},
    "held_since": {"type": ["number", "null"]}, "hold_s": {"type": "number"},
    "ended": {"type": "boolean"},
    "consult": {"type": ["object", "null"], "properties": {
        "to": {"type": "string"}, "stage": {"type": "string", "enum": ["consulting", "conference"]},
        "since": {"type": "number"}}}}}


async def control_call(request: web.Request) -> web.Response:
    session = require(request, "agent")
    call_id = request.match_info["call_id"]
    body = await json_object(request, max_bytes=4096)
    agent_id = await agent_login(request.app[POOL], session.user.agent_id)
    if not _CALL_ID.match(call_id) or not agent_id:
        raise api_error(404, "no such call", "not_found")
    action = body.get("action")
    if not isinstance(action, str) or action not in VERBS:
        raise api_error(400, f"action must be one of {', '.join(VERBS)}", "bad_action")
    skill, note, to_agent = body.get("skill", ""), body.get("note", ""), body.get("agent", "")
    if not all(isinstance(v, str) for v in (skill, note, to_agent)):
        raise api_error(400, "skill, agent and note must be strings", "bad_target")
    if action in (Verb.TRANSFER, Verb.CONSULT) and bool(skill) == bool(to_agent):
        raise api_error(400, f"a {action} needs a skill or an agent (one of them)", "bad_target")
    try:
        state = await request.app[CONTROL].act(agent_id, call_id, Verb(action), skill=skill,
                                               note=note.strip(), to_agent=to_agent)
    except Refused as refused:
        raise api_error(refused.status, refused.message, refused.error_id) from None
    return web.json_response(state)


def feature(control: ControlService) -> Callable[[web.Application, Api], None]:
    def register(app: web.Application, api: Api) -> None:
        app[CONTROL] = control
        api.add(Route("POST", "/api/calls/{call_id}/control", control_call,
                      "Act on your live call: hang up, hold, resume, mute, unmute, blind transfer"
                      " to a skill (with a note for the next agent), consult a colleague then"
                      " complete, cancel or conference", ("agent",),
                      params=(Param("call_id", "path", {"type": "string",
                                                        "pattern": _CALL_ID.pattern}),),
                      body={"type": "object", "required": ["action"], "properties": {
                          "action": {"type": "string", "enum": VERBS},
                          "skill": {"type": "string"},
                          "agent": {"type": "string"},
                          "note": {"type": "string", "maxLength": MAX_NOTE}}},
                      response=STATE_SCHEMA))

    return register
