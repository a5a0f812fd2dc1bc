"""A supervisor sets an agent's state from the wallboard: ready, paused (with a configured
reason) or logged out (the forgotten agent at the end of a shift). The agent's desktop follows
the change like any other (the agents service pushes it); each change is audited with who made
it and the state it replaced.

As for the agent's own requests, a pause or log-out asked during a call takes effect after it.
"""

from __future__ import annotations

from typing import Any

from callcenter.agents.errors import InvalidAgentRequest
from callcenter.agents.model import AgentState
from callcenter.routing.agent_service import AgentService
from callcenter.routing.views import AgentStatus

STATES = ("ready", "paused", "offline")


def force_state(agents: AgentService, agent_id: str, state: str, reason: str
                ) -> tuple[AgentStatus, dict[str, Any]]:
    """Apply the state; returns the agent's status after it and the audit detail.

    Raises:
        UnknownAgent; InvalidAgentRequest (unknown state, a pause without a configured reason).
    """
    before = agents.status(agent_id)
    if state == "ready":
        if before.state is AgentState.OFFLINE:
            agents.login(agent_id, ready=True)
        elif before.state is AgentState.WRAP_UP:
            agents.wrap_up_done(agent_id)
        else:
            agents.ready(agent_id)
    elif state == "paused":
        if not reason:
            raise InvalidAgentRequest("reason: a pause needs a reason")
        if before.state is AgentState.OFFLINE:
            agents.pause_reasons.check(reason)
            agents.login(agent_id)
        agents.pause(agent_id, reason)
    elif state == "offline":
        agents.logout(agent_id)
    else:
        raise InvalidAgentRequest(f"state: must be one of {', '.join(STATES)}, got {state!r}")
    after = agents.status(agent_id)
    detail = {"state": state, "reason": reason if state == "paused" else "",
              "before": before.state.value, "before_reason": before.reason,
              "now": after.state.value, "after_call": after.after_call}
    return after, detail
