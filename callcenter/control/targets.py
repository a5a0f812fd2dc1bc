"""Whom a call can be transferred to, as routing sees them now: an agent who is ready (and
reachable), with the skill their transfer is routed by (their best)."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.agents.model import AgentState
from callcenter.routing.engine import RoutingEngine


@dataclass(frozen=True, slots=True)
class AgentTarget:
    ready: bool
    skill: str


def agent_target(engine: RoutingEngine, agent_id: str) -> AgentTarget | None:
    """The agent as a transfer's target; None for an agent routing does not know."""
    if not engine.has_agent(agent_id):
        return None
    status, profile = engine.agent_status(agent_id), engine.profile(agent_id)
    best = max(profile.skills, key=lambda s: (profile.skills[s], s)) if profile.skills else ""
    return AgentTarget(status.state is AgentState.READY and status.reachable, best)


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
