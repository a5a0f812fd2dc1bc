"""``POST /api/calls/{call_id}/control``: the agent acts on the live call they talk on (hang up,
hold / resume, mute / unmute). ``call_id`` is the live call's id as the agent's screen has it
(the pop's ``call_id``); ``{"action": "transfer", "skill": ..., "note": ...}`` sends the caller
back to routing for that skill, ``"agent"`` to a ready colleague, ``"number"`` (a directory
code or a number the deployment allows) outside through the carrier;
``{"action": "consult", "agent": ...}`` (or ``"skill"``: its first ready agent) rings a colleague
while the caller holds, then ``complete``, ``cancel`` or ``conference``.
``GET /api/control/targets`` lists the console's choices: colleagues, outside directory. Another
agent's call, or no call at all, is one 404, as elsewhere."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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
        "since": {"type": "number"},
        # False while the colleague's phone rings: complete and conference are 409 colleague_ringing
        "answered": {"type": "boolean"}}}}}


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
    number = body.get("number", "")
    if not all(isinstance(v, str) and len(v) <= 64 for v in (skill, to_agent, number)) \
            or not isinstance(note, str):
        raise api_error(400, "skill, agent, number and note must be strings", "bad_target")
    if action == Verb.TRANSFER and sum(map(bool, (skill, to_agent, number))) != 1:
        raise api_error(400, "a transfer needs a skill, an agent or a number (one of them)",
                        "bad_target")
    if action == Verb.CONSULT and (number or bool(skill) == bool(to_agent)):
        raise api_error(400, "a consult needs a skill or an agent (one of them)", "bad_target")
    try:
        state = await request.app[CONTROL].act(agent_id, call_id, Verb(action), skill=skill,
                                               note=note.strip(), to_agent=to_agent,
                                               number=number)
    except Refused as refused:
        raise api_error(refused.status, refused.message, refused.error_id) from None
    return web.json_response(state)


Colleagues = Callable[[], list[dict[str, Any]]]
COLLEAGUES: web.AppKey[Colleagues] = web.AppKey("control_colleagues")


async def transfer_targets(request: web.Request) -> web.Response:
    """Whom the agent may transfer to now: colleagues logged in (name, state, skills; only the
    ready ones can be chosen), the outside directory (labels, masked numbers)."""
    session = require(request, "agent")
    me = await agent_login(request.app[POOL], session.user.agent_id)
    listed = [a for a in request.app[COLLEAGUES]() if a["agent_id"] != me]
    names = {r["login"]: r["display_name"] for r in await request.app[POOL].fetch(
        "SELECT login, display_name FROM agents WHERE login = ANY($1::text[])",
        [a["agent_id"] for a in listed])}
    outside = request.app[CONTROL].outside
    return web.json_response({
        "agents": [{**a, "name": names.get(a["agent_id"], a["agent_id"])} for a in listed],
        "outside": outside.to_json(), "typed": outside.typed_allowed})


def feature(control: ControlService, colleagues: Colleagues = list
            ) -> Callable[[web.Application, Api], None]:
    def register(app: web.Application, api: Api) -> None:
        app[CONTROL] = control
        app[COLLEAGUES] = colleagues
        api.add(Route("POST", "/api/calls/{call_id}/control", control_call,
                      "Act on your live call: hang up, hold, resume, mute, unmute, blind transfer"
                      " to a skill, a colleague or an allowed outside number (with a note for"
                      " the next agent), consult a colleague then complete, cancel or conference",
                      ("agent",),
                      params=(Param("call_id", "path", {"type": "string",
                                                        "pattern": _CALL_ID.pattern}),),
                      body={"type": "object", "required": ["action"], "properties": {
                          "action": {"type": "string", "enum": VERBS},
                          "skill": {"type": "string"},
                          "agent": {"type": "string"},
                          "number": {"type": "string", "maxLength": 64},
                          "note": {"type": "string", "maxLength": MAX_NOTE}}},
                      response=STATE_SCHEMA))
        api.add(Route("GET", "/api/control/targets", transfer_targets,
                      "Whom you may transfer a call to: colleagues logged in (name, state,"
                      " skills, ready), the outside directory (labels, masked numbers) and"
                      " whether other allowed numbers may be typed", ("agent",),
                      response={"type": "object", "properties": {
                          "agents": {"type": "array"}, "outside": {"type": "array"},
                          "typed": {"type": "boolean"}}}))

    return register
