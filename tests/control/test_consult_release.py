"""The consult's pause of a colleague, as the server wires it to routing: released only while
it is still the consult's pause (not a break the colleague chose meanwhile); a colleague who
took the caller over talks, then wraps up, and the release at the call's end leaves that alone."""

from __future__ import annotations

from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.router import Router
from callcenter.server.callpath import _reserve
from tests.routing.helpers import agent, call, policy
from tests.routing.test_router import ready

STEP = [{"after_s": 0, "min_level": 1}]


def engine() -> tuple[RoutingEngine, list[float]]:
    now = [5.0]
    found = RoutingEngine(Router(policy(refunds={"wrap_up_s": 30, "steps": STEP}),
                                 [agent("sam", {"refunds": 5}), agent("ivan", {"refunds": 3})]),
                          clock=lambda: now[0])
    ready(found.router, "sam", "ivan")
    return found, now


def test_a_colleague_still_in_the_consults_pause_is_ready_again() -> None:
    routing, _ = engine()
    _reserve(routing, "ivan", True)
    assert routing.agent_status("ivan").reason == ev.CONSULT_PAUSE
    _reserve(routing, "ivan", False)
    assert routing.agent_status("ivan").state is AgentState.READY


def test_a_break_the_colleague_chose_during_the_consult_is_kept() -> None:
    routing, _ = engine()
    _reserve(routing, "ivan", True)
    routing.submit(ev.AgentPaused("ivan", "lunch", 6.0))
    _reserve(routing, "ivan", False)
    status = routing.agent_status("ivan")
    assert (status.state, status.reason) == (AgentState.PAUSED, "lunch")


def test_a_colleague_who_took_the_call_wraps_up_after_it_instead_of_being_made_ready() -> None:
    routing, now = engine()
    routing.submit(ev.AgentPaused("ivan", "x", 1.0))  # not offered the call below
    routing.submit(ev.CallEnqueued(call("c1", "refunds"), 2.0))
    routing.submit(ev.OfferAnswered("c1", "sam", 3.0))
    _reserve(routing, "ivan", True)
    routing.submit(ev.CallTakenOver("c1", "ivan", 10.0))
    now[0] = 40.0
    routing.submit(ev.CallHungUp("c1", 40.0))  # the call ends: routing's own path
    _reserve(routing, "ivan", False)  # the consult desk's release at the call's end
    assert routing.agent_status("ivan").state is AgentState.WRAP_UP
