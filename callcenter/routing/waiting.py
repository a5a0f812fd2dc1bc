"""Why each waiting call waits: what it needs and which agents could take it (the wallboard)."""

from __future__ import annotations

from typing import Any

from callcenter.agents.model import AgentState
from callcenter.routing.router import Router
from callcenter.routing.state import accepts

MAX_WAITING_SHOWN = 50


def why_waiting(router: Router, now: float) -> list[dict[str, Any]]:
    """Why each call waits: its skill, level and language, and the agents able to take it under
    the routing steps in force (logged in at all, and ready now). Read-only on the router."""
    agents = list(router.book.agents.values())
    out = []
    for call in sorted(router.book.waiting.values(), key=lambda c: c.key)[:MAX_WAITING_SHOWN]:
        able = [a for a in agents if a.state is not AgentState.OFFLINE
                and any(accepts(t, a.profile) for t in call.targets)]
        if call.held_for is not None:
            able = [a for a in able if a.agent_id == call.held_for]
        request = call.request
        out.append({
            "call_id": call.call_id, "skill": request.skill, "min_level": request.min_level,
            "language": request.language, "wait_s": round(max(0.0, now - call.enqueued_at), 0),
            "priority": round(call.priority, 1), "held_for": call.held_for,
            "step": call.active, "steps": len(call.policy.steps),
            "targets": [{"skill": t.skill, "min_level": t.min_level, "language": t.language}
                        for t in call.targets],
            "able": sorted(a.agent_id for a in able),
            "able_ready": sorted(a.agent_id for a in able if a.offerable),
        })
    return out
