"""Callbacks that keep the caller's place, in the pure router (fake clock, explicit times)."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.decisions import (
    CallbackAttemptFailed,
    CallbackConnected,
    CallbackGaveUp,
    CallbackKept,
    CancelOffer,
    Decision,
    DialCallback,
    Offer,
    OfferCallback,
)
from callcenter.routing.errors import RoutingPolicyError
from callcenter.routing.router import Router
from callcenter.routing.state import CallStatus
from tests.routing.helpers import agent, call, policy

GENERAL = {"steps": [{"after_s": 0}, {"after_s": 60, "offer_callback": True}],
           "callback_attempts": 2, "callback_retry_s": 120, "wrap_up_s": 0}


def served(decisions: list[Decision]) -> list[tuple[str, str, str]]:
    """(call, agent, offer or callback) in the order the router decided them."""
    out = []
    for d in decisions:
        if isinstance(d, Offer):
            out.append((d.call_id, d.agent_id, "offer"))
        elif isinstance(d, DialCallback):
            out.append((d.call_id, d.agent_id, "callback"))
    return out


def five_waiting(**extra: Any) -> Router:
    r = Router(policy(general={**GENERAL, **extra}),
               [agent(f"a{i}", {"general": 1}) for i in range(1, 6)])
    for i in range(1, 6):
        r.handle(ev.CallEnqueued(call(f"c{i}", "general"), float(i)))
    return r


def test_given_five_waiting_when_third_takes_callback_then_served_third_in_arrival_order() -> None:
    r = five_waiting()
    out = r.tick(70.0)
    assert [d.call_id for d in out if isinstance(d, OfferCallback)] == ["c1", "c2", "c3", "c4", "c5"]
    kept = r.handle(ev.CallbackQueued("c3", "5550103", 71.0))
    assert [(d.request.call_id, d.number, d.enqueued_at) for d in kept
            if isinstance(d, CallbackKept)] == [("c3", "5550103", 3.0)]
    assert r.handle(ev.CallHungUp("c3", 72.0)) == []  # the caller hangs up: the place stays
    got: list[tuple[str, str, str]] = []
    for i in range(1, 6):
        got += served(r.handle(ev.AgentLoggedIn(f"a{i}", 80.0 + i, ready=True)))
    assert got == [("c1", "a1", "offer"), ("c2", "a2", "offer"), ("c3", "a3", "callback"),
                   ("c4", "a4", "offer"), ("c5", "a5", "offer")]


def test_given_callback_comes_up_then_agent_rung_first_with_number_and_attempt() -> None:
    r = five_waiting()
    r.handle(ev.CallbackQueued("c1", "5550101", 10.0))
    out = r.handle(ev.AgentLoggedIn("a1", 20.0, ready=True))
    dial = next(d for d in out if isinstance(d, DialCallback))
    assert (dial.dial_string, dial.number, dial.attempt, dial.customer_ring_s) == (
        "PJSIP/a1", "5550101", 1, 30.0)
    assert r.agent_status("a1").state is AgentState.OFFERED


@pytest.mark.parametrize(("results", "want_attempts", "gave_up"), [
    (["answered"], 1, False),
    (["busy", "answered"], 2, False),
    (["busy", "no_answer"], 2, True),
])
def test_given_customer_leg_results_then_retried_per_policy_then_ticketed(
        results: list[str], want_attempts: int, gave_up: bool) -> None:
    r = Router(policy(general=GENERAL), [agent("ann", {"general": 1})])
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    r.handle(ev.CallbackQueued("c1", "5550101", 61.0))
    now, decisions = 100.0, []
    r.handle(ev.AgentLoggedIn("ann", now, ready=True))
    for result in results:
        status = r.call_status("c1")
        assert status is not None and status.status == "offered"
        r.handle(ev.OfferAnswered("c1", "ann", now + 1))
        decisions += r.handle(ev.CallbackDialed("c1", result, now + 20))
        assert r.agent_status("ann").state is (
            AgentState.TALKING if result == "answered" else AgentState.READY)
        if result != "answered":
            assert served(r.tick(now + 20 + 119)) == []  # not before the retry interval
            view = r.call_status("c1")
            assert view is None or view.status == "retry"
            decisions += r.tick(now + 20 + 120)
        now += 140
    failed = [d for d in decisions if isinstance(d, CallbackAttemptFailed)]
    ended = [d for d in decisions if isinstance(d, CallbackGaveUp)]
    connected = [d for d in decisions if isinstance(d, CallbackConnected)]
    assert [d.attempt for d in failed] == list(range(1, len(failed) + 1))
    assert all(d.retry_at == d.at + 120 for d in failed)
    if gave_up:
        assert [(d.number, d.attempts, d.result) for d in ended] == [("5550101", 2, "no_answer")]
        assert r.call_status("c1") is None and len(failed) == 1
    else:
        assert [d.attempt for d in connected] == [want_attempts] and not ended


def test_given_callback_retry_waits_then_it_is_not_offered_before_interval() -> None:
    r = Router(policy(general=GENERAL), [agent("ann", {"general": 1})])
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    r.handle(ev.CallbackQueued("c1", "5550101", 61.0))
    r.handle(ev.AgentLoggedIn("ann", 70.0, ready=True))
    r.handle(ev.OfferAnswered("c1", "ann", 71.0))
    r.handle(ev.CallbackDialed("c1", "busy", 80.0))
    assert served(r.tick(199.0)) == []
    assert served(r.tick(200.0)) == [("c1", "ann", "callback")]


def test_given_connected_callback_when_talk_ends_then_wrap_up_and_done() -> None:
    r = Router(policy(general={**GENERAL, "wrap_up_s": 30}), [agent("ann", {"general": 1})])
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    r.handle(ev.CallbackQueued("c1", "5550101", 61.0))
    r.handle(ev.AgentLoggedIn("ann", 70.0, ready=True))
    r.handle(ev.OfferAnswered("c1", "ann", 71.0))
    r.handle(ev.CallbackDialed("c1", "answered", 75.0))
    assert r.handle(ev.CallbackDialed("c1", "busy", 76.0)) == []  # late news of a connected leg
    r.handle(ev.TalkEnded("c1", 200.0))
    assert r.call_status("c1") is None
    assert r.agent_status("ann").state is AgentState.WRAP_UP


def test_given_agent_misses_callback_then_requeued_in_place_without_an_attempt() -> None:
    r = five_waiting()
    r.handle(ev.CallbackQueued("c1", "5550101", 10.0))
    r.handle(ev.AgentLoggedIn("a1", 20.0, ready=True))
    r.handle(ev.OfferFailed("c1", "a1", "no_answer", 35.0))
    out = r.handle(ev.AgentLoggedIn("a2", 36.0, ready=True))
    dial = next(d for d in out if isinstance(d, DialCallback))
    assert (dial.call_id, dial.agent_id, dial.attempt) == ("c1", "a2", 1)


def test_given_agent_ringing_when_caller_takes_callback_then_offer_cancelled_and_agent_rung_back() -> None:
    r = five_waiting()
    r.handle(ev.AgentLoggedIn("a1", 10.0, ready=True))
    out = r.handle(ev.CallbackQueued("c1", "5550101", 11.0))
    assert [(d.call_id, d.reason) for d in out if isinstance(d, CancelOffer)] == [
        ("c1", "callback_accepted")]
    assert served(out) == [("c1", "a1", "callback")]


def test_given_agent_talking_when_callback_pressed_late_then_ignored() -> None:
    r = five_waiting()
    r.handle(ev.AgentLoggedIn("a1", 10.0, ready=True))
    r.handle(ev.OfferAnswered("c1", "a1", 12.0))
    assert r.handle(ev.CallbackQueued("c1", "5550101", 13.0)) == []
    assert r.book.calls["c1"].callback is None


def test_given_restart_when_callback_restored_then_keeps_original_place_among_new_callers() -> None:
    r = Router(policy(general=GENERAL), [agent("ann", {"general": 1}), agent("bob", {"general": 1})])
    r.handle(ev.CallEnqueued(call("new", "general"), 1000.0))
    r.handle(ev.CallbackRestored(call("old", "general"), "5550101", 900.0, 1, 1001.0))
    assert r.book.calls["old"].active == 2  # both steps in force (waited 101 s)
    out = r.handle(ev.AgentLoggedIn("ann", 1002.0, ready=True))
    dial = next(d for d in out if isinstance(d, DialCallback))
    assert (dial.call_id, dial.attempt) == ("old", 2)
    assert served(r.handle(ev.AgentLoggedIn("bob", 1003.0, ready=True))) == [("new", "bob", "offer")]


def test_given_callbacks_then_statistics_count_them_apart_from_waiting_callers() -> None:
    r = five_waiting()
    r.handle(ev.CallbackQueued("c2", "5550102", 10.0))
    r.handle(ev.CallbackQueued("c4", "5550104", 11.0))
    stats = r.statistics(20.0)
    assert (stats.waiting, stats.callbacks, stats.longest_wait_s) == (3, 2, 19.0)
    assert r.callbacks_waiting(20.0) == (2, 18.0)
    r.handle(ev.AgentLoggedIn("a1", 21.0, ready=True))
    r.handle(ev.OfferAnswered("c1", "a1", 22.0))
    r.handle(ev.AgentLoggedIn("a2", 23.0, ready=True))  # takes the callback c2
    r.handle(ev.OfferAnswered("c2", "a2", 24.0))
    assert r.callbacks_waiting(25.0) == (1, 21.0)
    assert r.statistics(25.0).answered == 1  # the callback is not a second answer
    assert r.book.calls["c2"].status is CallStatus.TALKING


@pytest.mark.parametrize(("field", "value", "message"), [
    ("callback_attempts", 0, "skills.general.callback_attempts"),
    ("callback_attempts", 11, "skills.general.callback_attempts"),
    ("callback_retry_s", -1, "skills.general.callback_retry_s"),
    ("callback_ring_s", 1, "skills.general.callback_ring_s"),
])
def test_given_bad_callback_settings_then_error_names_field(field: str, value: float,
                                                             message: str) -> None:
    with pytest.raises(RoutingPolicyError, match=message.replace(".", r"\.")):
        policy(general={**GENERAL, field: value})


def test_given_defaults_then_callback_settings_have_defaults() -> None:
    p = policy(defaults={"callback_attempts": 4}).for_skill("orders")
    assert (p.callback_attempts, p.callback_retry_s, p.callback_ring_s) == (4, 300.0, 30.0)


def test_given_waiting_call_then_callback_due_at_its_step_and_never_again_once_offered() -> None:
    r = Router(policy(general=GENERAL), [agent("ann", {"general": 1})])
    r.handle(ev.CallEnqueued(call("c1", "general"), 10.0))
    assert r.callback_due_at("c1") == 70.0
    r.handle(ev.AgentLoggedIn("ann", 65.0, ready=True))  # ringing when the step comes
    r.tick(71.0)
    assert r.callback_due_at("c1") == 71.0  # due; announced once the call waits again
    r.handle(ev.OfferFailed("c1", "ann", "no_answer", 72.0))
    assert r.callback_due_at("c1") is None and r.callback_due_at("nobody") is None
