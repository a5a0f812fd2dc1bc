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
