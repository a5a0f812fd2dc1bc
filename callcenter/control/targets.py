"""Whom a call can be transferred to, as routing sees them now: an agent who is ready (and
reachable), with the skill their transfer is routed by (their best) and their phone (a consult
rings it); or the first ready agent of a skill."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.agents.model import AgentState
from callcenter.routing.engine import RoutingEngine


@dataclass(frozen=True, slots=True)
class AgentTarget:
    ready: bool
    skill: str
    dial: str = ""  # their phone's dial string (a consult rings it)


def agent_target(engine: RoutingEngine, agent_id: str) -> AgentTarget | None:
    """The agent as a transfer's target; None for an agent routing does not know."""
    if not engine.has_agent(agent_id):
        return None
    status, profile = engine.agent_status(agent_id), engine.profile(agent_id)
    best = max(profile.skills, key=lambda s: (profile.skills[s], s)) if profile.skills else ""
    return AgentTarget(status.state is AgentState.READY and status.reachable, best,
                       profile.dial_string)


def colleagues(engine: RoutingEngine) -> list[dict[str, object]]:
    """The agents logged in now (not offline), for the console's transfer picker: their state,
    whether a transfer may go to them (ready and reachable), their skills best first."""
    found: list[dict[str, object]] = []
    for status in engine.agent_statuses():
        if status.state is AgentState.OFFLINE or not engine.has_agent(status.agent_id):
            continue
        skills = engine.profile(status.agent_id).skills
        found.append({"agent_id": status.agent_id, "state": status.state.value,
                      "ready": status.state is AgentState.READY and status.reachable,
                      "skills": sorted(skills, key=lambda s: (-skills[s], s))})
    return sorted(found, key=lambda a: str(a["agent_id"]))


def first_ready(engine: RoutingEngine, skill: str, besides: str) -> str | None:
    """The ready (and reachable) agent of ``skill`` with the best level (then by login),
    other than ``besides``; None when nobody is."""
    found = [(-engine.profile(s.agent_id).skills[skill], s.agent_id)
             for s in engine.agent_statuses()
             if s.agent_id != besides and s.state is AgentState.READY and s.reachable
             and skill in engine.profile(s.agent_id).skills]
    return min(found)[1] if found else None
