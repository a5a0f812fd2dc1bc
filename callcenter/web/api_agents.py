"""``/api/agents`` and ``/api/routing``: agent states and skills, live routing statistics.

An agent changes only their own state; supervisors and admins change anyone's and edit skills;
routing statistics are for supervisors and admins (the wallboard).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.agents.errors import AgentError, UnknownAgent
from callcenter.routing.agent_service import AgentService
from callcenter.routing.errors import RoutingPolicyError
from callcenter.store.directory import agent_login
from callcenter.web.auth import remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.keys import AGENTS, ENGINE, POOL, SESSION
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import json_object

STAFF = ("supervisor", "admin")


async def _own_agent_login(request: web.Request, agent_db_id: int | None) -> str | None:
    return await agent_login(request.app[POOL], agent_db_id)


def _agent_json(service: AgentService, agent_id: str) -> dict[str, Any]:
    profile = service.profile(agent_id)
    return {**service.status(agent_id).to_json(), "name": profile.name,
            "dial_string": profile.dial_string, "skills": dict(profile.skills),
            "languages": sorted(profile.languages)}


def _agent_error(exc: AgentError) -> web.HTTPException:
    return api_error(exc.status, str(exc), exc.error_id)


async def list_agents(request: web.Request) -> web.Response:
    session = require(request, "agent", *STAFF)
    service = request.app[AGENTS]
    if session.user.role == "agent":
        own = await _own_agent_login(request, session.user.agent_id)
        ids = [own] if own else []
    else:
        ids = [s.agent_id for s in service.statuses()]
    return web.json_response({"agents": [_agent_json(service, i) for i in ids]})


async def set_state(request: web.Request) -> web.Response:
    session = require(request, "agent", *STAFF)
    agent_id = request.match_info["agent"]
    if session.user.role == "agent" and agent_id != await _own_agent_login(request, session.user.agent_id):
        # another agent looks exactly like an agent that does not exist
        raise _agent_error(UnknownAgent(f"no agent {agent_id!r}"))
    body = await _json_body(request)
    state, reason = body.get("state"), body.get("reason", "")
    service = request.app[AGENTS]
    try:
        if state == "ready" and service.status(agent_id).state.value == "offline":
            service.login(agent_id, ready=True)
        elif state == "ready" and service.status(agent_id).state.value == "wrap_up":
            service.wrap_up_done(agent_id)
        elif state == "ready":
            service.ready(agent_id)
        elif state == "paused":
            if not isinstance(reason, str) or not reason:
                raise api_error(400, "a pause needs a reason", "bad_parameter", parameter="reason")
            service.pause(agent_id, reason)
        elif state == "offline":
            service.logout(agent_id)
        else:
            raise api_error(400, "state must be ready, paused or offline", "bad_parameter",
                            parameter="state")
    except AgentError as exc:
        raise _agent_error(exc) from None
    if session.user.role != "agent":  # someone else's state: audited as on the wallboard
        await request.app[SESSION].audit(session.user.login, "agent_state_forced", target=agent_id,
                                         remote=remote_of(request), detail={"state": state, "reason": reason})
    return web.json_response(_agent_json(service, agent_id))


async def set_skills(request: web.Request) -> web.Response:
    session = require(request, *STAFF)
    agent_id = request.match_info["agent"]
    body = await _json_body(request)
    skills = body.get("skills")
    if not isinstance(skills, dict):
        raise api_error(400, "skills must be an object of skill name to level 1-5", "bad_parameter",
                        parameter="skills")
    service = request.app[AGENTS]
    try:
        await service.set_skills(agent_id, skills)
    except AgentError as exc:
        raise _agent_error(exc) from None
    await request.app[SESSION].audit(session.user.login, "agent_skills_changed",
                                             target=agent_id, remote=remote_of(request),
                                             detail={"skills": skills})
    return web.json_response(_agent_json(service, agent_id))


async def routing_stats(request: web.Request) -> web.Response:
    require(request, *STAFF)
    return web.json_response(request.app[ENGINE].statistics().to_json())


async def routing_reload(request: web.Request) -> web.Response:
    session = require(request, "admin")
    try:
        request.app[ENGINE].reload()
    except RoutingPolicyError as exc:
        raise api_error(400, f"policy not reloaded: {exc}", "invalid_policy") from None
    await request.app[SESSION].audit(session.user.login, "routing_policy_reloaded",
                                             remote=remote_of(request))
    return web.json_response({"ok": True})


async def _json_body(request: web.Request) -> dict[str, Any]:
    return await json_object(request, max_bytes=64 * 1024)


def register(api: Api) -> None:
    agent = Param("agent", "path", {"type": "string"}, "the agent's login (agents.login)")
    api.add(Route("GET", "/api/agents", list_agents, "Agents with state, skills and languages",
                  ("agent", *STAFF)))
    api.add(Route("POST", "/api/agents/{agent}/state", set_state,
                  "Ready, pause (with a reason) or log off an agent", ("agent", *STAFF), params=(agent,),
                  body={"type": "object", "required": ["state"], "properties": {
                      "state": {"type": "string", "enum": ["ready", "paused", "offline"]},
                      "reason": {"type": "string", "maxLength": 64}}}))
    api.add(Route("PUT", "/api/agents/{agent}/skills", set_skills, "Set an agent's skill levels (1-5)",
                  STAFF, params=(agent,),
                  body={"type": "object", "required": ["skills"], "properties": {"skills": {
                      "type": "object", "additionalProperties": {"type": "integer", "minimum": 1,
                                                                 "maximum": 5}}}}))
    api.add(Route("GET", "/api/routing/stats", routing_stats,
                  "Live routing statistics: waiting, longest wait, service level, ASA, abandon rate, "
                  "occupancy, per skill and per agent", STAFF))
    api.add(Route("POST", "/api/routing/reload", routing_reload, "Reload the routing policy file",
                  ("admin",), body={"type": "object"}))
