"""What the router shows of its agents and calls (read-only snapshots for the API and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcenter.agents.model import AgentState
from callcenter.routing.state import AgentRec, CallRec


@dataclass(frozen=True, slots=True)
class AgentStatus:
    agent_id: str
    state: AgentState
    reason: str
    reachable: bool
    since: float
    call_id: str | None
    after_call: str | None  # "paused:<reason>" or "offline" when asked for mid-call

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "state": self.state.value, "reason": self.reason,
                "reachable": self.reachable, "since": self.since, "call_id": self.call_id,
                "after_call": self.after_call}


@dataclass(frozen=True, slots=True)
class CallStatusView:
    call_id: str
    skill: str
    status: str  # waiting, offered, talking
    priority: float
    enqueued_at: float
    agent_id: str | None
    held_for: str | None
    step: int  # number of steps in force


def agent_status(agent: AgentRec) -> AgentStatus:
    after = None
    if agent.after_call is not None:
        state, reason = agent.after_call
        after = f"{state.value}:{reason}" if reason else state.value
    return AgentStatus(agent.agent_id, agent.state, agent.reason, agent.reachable, agent.since,
                       agent.call.call_id if agent.call is not None else None, after)


def call_view(call: CallRec) -> CallStatusView:
    return CallStatusView(call.call_id, call.request.skill, call.status.name.lower(),
                          call.priority, call.enqueued_at,
                          call.agent.agent_id if call.agent is not None else None,
                          call.held_for, call.active)
