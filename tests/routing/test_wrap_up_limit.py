"""The wrap-up's "More time" (a pause for after-call work) lasts no longer than the policy's
``wrap_up_max_s`` after the call; without a limit it lasts until the agent is ready."""

from __future__ import annotations

from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.router import Router
from tests.routing.helpers import agent, call, policy, states
from tests.routing.test_router import ready

LIMITED = {"wrap_up_s": 10, "wrap_up_max_s": 60}


def wrapping(defaults: dict[str, float]) -> Router:
    r = Router(policy(defaults=defaults), [agent("a", {"general": 5})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    r.handle(ev.OfferAnswered("c1", "a", 1.0))
    assert states(r.handle(ev.TalkEnded("c1", 100.0))) == [("a", AgentState.WRAP_UP, "")]
    return r


def test_given_more_time_in_wrap_up_when_the_policy_limit_passes_then_the_agent_is_ready() -> None:
    r = wrapping(LIMITED)
    assert states(r.handle(ev.AgentPaused("a", "after_call_work", 105.0))) == [
        ("a", AgentState.PAUSED, "after_call_work")]
    assert states(r.tick(159.9)) == []
    assert states(r.tick(160.0)) == [("a", AgentState.READY, "")]


def test_given_more_time_and_a_pause_asked_for_after_it_then_the_limit_leaves_that_pause_alone() -> None:
    r = wrapping(LIMITED)
    r.handle(ev.AgentPaused("a", "after_call_work", 105.0))
    r.handle(ev.AgentPaused("a", "break", 120.0))  # the agent took a break instead
    assert states(r.tick(200.0)) == []
    assert r.agent_status("a").reason == "break"


def test_given_the_agent_ready_again_when_a_later_after_call_work_pause_then_no_old_limit_ends_it() -> None:
    r = wrapping(LIMITED)
    r.handle(ev.AgentPaused("a", "after_call_work", 105.0))
    r.handle(ev.AgentReady("a", 110.0))
    r.handle(ev.AgentPaused("a", "after_call_work", 120.0))  # not from a wrap-up
    assert states(r.tick(300.0)) == []


def test_given_no_limit_then_more_time_lasts_until_the_agent_is_ready() -> None:
    r = wrapping({"wrap_up_s": 10})
    r.handle(ev.AgentPaused("a", "after_call_work", 105.0))
    assert states(r.tick(10_000.0)) == []
    assert r.agent_status("a").state is AgentState.PAUSED
