"""A colleague who takes the caller over from a consult talks, then wraps up like after any
call; the first agent wraps up when their part ends; their late hang-up does not end the
colleague's talk; a break the colleague chose during the consult comes after the call."""

from __future__ import annotations

from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.router import Router
from tests.routing.helpers import agent, call, check_invariants, policy, states
from tests.routing.test_router import ready

STEP = [{"after_s": 0, "min_level": 1}]


def consulting() -> Router:
    """``a`` talks with the caller of c1; ``b`` is paused for the consult."""
    r = Router(policy(refunds={"wrap_up_s": 30, "steps": STEP}), [agent("a", {"refunds": 5}),
                                                    agent("b", {"refunds": 3})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "refunds"), 1.0))
    r.handle(ev.OfferAnswered("c1", "a", 2.0))
    ready(r, "b", at=3.0)
    r.handle(ev.AgentPaused("b", ev.CONSULT_PAUSE, 10.0))
    return r


def test_given_a_completed_consult_then_the_colleague_talks_and_the_first_agent_wraps_up() -> None:
    r = consulting()
    changed = states(r.handle(ev.CallTakenOver("c1", "b", 20.0)))
    assert changed == [("a", AgentState.WRAP_UP, ""), ("b", AgentState.TALKING, "")]
    assert r.agent_status("b").call_id == "c1"
    # the first agent's leg ends after the transfer: it is not the colleague's talk
    assert states(r.handle(ev.TalkEnded("c1", 21.0, "a"))) == []
    check_invariants(r)
    # (the first agent's own wrap-up ended meanwhile)
    assert states(r.handle(ev.CallHungUp("c1", 90.0))) == [("a", AgentState.READY, ""),
                                                           ("b", AgentState.WRAP_UP, "")]
    assert states(r.tick(120.0)) == [("b", AgentState.READY, "")]


def test_given_the_first_agents_talk_already_ended_then_the_colleague_talks_on_its_skill() -> None:
    r = consulting()
    r.handle(ev.TalkEnded("c1", 15.0, "a"))
    assert states(r.handle(ev.CallTakenOver("c1", "b", 16.0))) == [("b", AgentState.TALKING, "")]
    assert states(r.handle(ev.TalkEnded("c1", 60.0))) == [("a", AgentState.READY, ""),
                                                          ("b", AgentState.WRAP_UP, "")]
    assert states(r.tick(90.0)) == [("b", AgentState.READY, "")]


def test_given_a_break_chosen_during_the_consult_then_it_comes_after_the_call() -> None:
    r = Router(policy(refunds={"wrap_up_s": 0, "steps": STEP}), [agent("a", {"refunds": 5}),
                                                   agent("b", {"refunds": 3})])
    ready(r, "a", "b")
    r.handle(ev.CallEnqueued(call("c1", "refunds"), 1.0))
    r.handle(ev.OfferAnswered("c1", "a", 2.0))
    r.handle(ev.AgentPaused("b", ev.CONSULT_PAUSE, 10.0))
    r.handle(ev.AgentPaused("b", "break", 12.0))
    r.handle(ev.CallTakenOver("c1", "b", 20.0))
    assert r.agent_status("b").state is AgentState.TALKING
    assert states(r.handle(ev.CallHungUp("c1", 50.0))) == [("b", AgentState.PAUSED, "break")]


def test_a_take_over_by_an_agent_on_another_call_or_of_a_waiting_call_changes_nothing() -> None:
    r = consulting()
    r.handle(ev.CallEnqueued(call("c2", "refunds"), 30.0))  # nobody ready: it waits
    assert r.handle(ev.CallTakenOver("c2", "b", 31.0)) == []
    assert r.handle(ev.CallTakenOver("c1", "a", 32.0)) == []  # a has c1 already
    check_invariants(r)


def test_given_a_cancelled_consult_the_colleague_talked_in_then_he_wraps_up_on_the_calls_skill() -> None:
    r = consulting()
    assert states(r.handle(ev.ConsultTalkEnded("c1", "b", 20.0))) == [("b", AgentState.WRAP_UP, "")]
    assert r.agent_status("a").call_id == "c1"  # the first agent still talks with the caller
    check_invariants(r)
    assert states(r.tick(50.0)) == [("b", AgentState.READY, "")]  # refunds: 30 s of wrap-up


def test_given_a_break_chosen_during_the_consult_then_no_wrap_up_and_the_break_stands() -> None:
    r = consulting()
    r.handle(ev.AgentPaused("b", "break", 12.0))
    assert r.handle(ev.ConsultTalkEnded("c1", "b", 20.0)) == []
    assert r.agent_status("b").reason == "break"


def test_given_the_caller_left_mid_consult_then_both_agents_wrap_up_on_the_calls_skill() -> None:
    """The call is gone from routing by the time the consult's end is heard: the event names
    the call's skill, not the colleague's best one (returns: 5 s of wrap-up)."""
    r = Router(policy(refunds={"wrap_up_s": 30, "steps": STEP}, returns={"wrap_up_s": 5, "steps": STEP}),
               [agent("a", {"refunds": 5}), agent("b", {"returns": 5, "refunds": 3})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "refunds"), 1.0))
    r.handle(ev.OfferAnswered("c1", "a", 2.0))
    ready(r, "b", at=3.0)
    r.handle(ev.AgentPaused("b", ev.CONSULT_PAUSE, 10.0))
    assert states(r.handle(ev.CallHungUp("c1", 20.0))) == [("a", AgentState.WRAP_UP, "")]
    assert states(r.handle(ev.ConsultTalkEnded("c1", "b", 20.0, "refunds"))) == [
        ("b", AgentState.WRAP_UP, "")]
    check_invariants(r)
    assert states(r.tick(30.0)) == []  # not returns' 5 s
    assert states(r.tick(51.0)) == [("a", AgentState.READY, ""), ("b", AgentState.READY, "")]
