"""Builders shared by the routing tests."""

from __future__ import annotations

from typing import Any

from callcenter.agents.model import AgentProfile, AgentState
from callcenter.routing import events as ev
from callcenter.routing.decisions import AgentStateChanged, Decision, Offer
from callcenter.routing.policy import RoutingPolicy, parse_policy
from callcenter.routing.router import Router
from callcenter.routing.state import CallStatus, accepts, eligible


def agent(agent_id: str, skills: dict[str, int], languages: tuple[str, ...] = ("en",),
          dial: str | None = None) -> AgentProfile:
    return AgentProfile(agent_id, agent_id.title(), dial or f"PJSIP/{agent_id}", skills,
                        frozenset(languages))


def policy(**skills: Any) -> RoutingPolicy:
    """``policy(refunds={"steps": [...]}, defaults={...})``."""
    defaults = skills.pop("defaults", {})
    priority = skills.pop("priority", {})
    return parse_policy({"defaults": defaults, "priority": priority, "skills": skills})


def call(call_id: str, skill: str, **kw: Any) -> ev.CallRequest:
    return ev.CallRequest(call_id, skill, **kw)


def offers(decisions: list[Decision]) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, Offer)]


def states(decisions: list[Decision]) -> list[tuple[str, AgentState, str]]:
    return [(d.agent_id, d.state, d.reason) for d in decisions if isinstance(d, AgentStateChanged)]


def check_invariants(router: Router) -> None:
    """What must hold after every event (checked by brute force over the router's records)."""
    book = router.book
    for rec in book.agents.values():
        if rec.state in (AgentState.OFFERED, AgentState.TALKING):
            assert rec.call is not None, f"{rec.agent_id} is {rec.state} without a call"
            assert rec.call.agent is rec, f"{rec.agent_id}: its call names another agent"
            want = CallStatus.OFFERED if rec.state is AgentState.OFFERED else CallStatus.TALKING
            assert rec.call.status is want
        else:
            assert rec.call is None, f"{rec.agent_id} is {rec.state} but holds a call"
    seen: dict[str, str] = {}
    for c in book.calls.values():
        assert c.status is not CallStatus.DONE
        if c.status in (CallStatus.OFFERED, CallStatus.TALKING):
            assert c.agent is not None and c.agent.call is c
            assert c.agent.agent_id not in seen, "an agent holds two calls"
            seen[c.agent.agent_id] = c.call_id
        else:
            assert c.agent is None
        assert (c.status is CallStatus.WAITING) == (c.seq in book.waiting)
        due = sum(1 for s in c.policy.steps if c.enqueued_at + s.after_s <= router.now)
        assert c.active == due or c.status is CallStatus.TALKING, f"{c.call_id}: {c.active} steps in force, {due} due"
    if not router._suspended:
        for c in book.waiting.values():
            for rec in book.agents.values():
                assert not eligible(c, rec), (
                    f"{rec.agent_id} is ready and may take {c.call_id}, which waits")
    stats = router.statistics()
    in_queue = sum(1 for c in book.calls.values()
                   if c.status in (CallStatus.WAITING, CallStatus.OFFERED))
    assert stats.waiting == in_queue


def check_offer_order(router: Router, decisions: list[Decision]) -> None:
    """An offer made now went to the best call the agent could take: every call still waiting
    that the agent could have taken comes later in the serving order."""
    book = router.book
    for d in decisions:
        if not isinstance(d, Offer) or d.at != router.now:
            continue
        taken = book.calls.get(d.call_id)
        rec = book.agents.get(d.agent_id)
        if taken is None or rec is None or taken.status is CallStatus.WAITING:
            continue
        for other in book.waiting.values():
            could = (other.held_for == rec.agent_id if other.held_for is not None
                     else any(accepts(t, rec.profile) for t in other.targets))
            if could:
                assert other.key > taken.key, (
                    f"{d.agent_id} got {d.call_id} while {other.call_id} (served first) waits")
