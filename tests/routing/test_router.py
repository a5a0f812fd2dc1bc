"""The pure router with a fake clock: every test drives events with explicit times."""

from __future__ import annotations

import pytest

from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.decisions import CancelOffer, Offer, OfferCallback
from callcenter.routing.errors import UnknownRoutingAgent
from callcenter.routing.router import Router
from tests.routing.helpers import agent, call, offers, policy, states

REFUNDS = {"steps": [{"after_s": 0, "min_level": 4}, {"after_s": 30, "min_level": 2},
                     {"after_s": 60, "skill": "general"}, {"after_s": 180, "offer_callback": True}],
           "wrap_up_s": 45}


def ready(router: Router, *agent_ids: str, at: float = 0.0) -> None:
    for a in agent_ids:
        router.handle(ev.AgentLoggedIn(a, at, ready=True))


def test_given_ready_expert_when_refund_call_arrives_then_offered_at_once() -> None:
    r = Router(policy(refunds=REFUNDS), [agent("ann", {"refunds": 5})])
    ready(r, "ann")
    out = r.handle(ev.CallEnqueued(call("c1", "refunds"), 1.0))
    assert offers(out) == [("c1", "ann")]
    offer = next(d for d in out if isinstance(d, Offer))
    assert (offer.dial_string, offer.ring_timeout_s, offer.at) == ("PJSIP/ann", 15.0, 1.0)
    assert states(out) == [("ann", AgentState.OFFERED, "")]


def test_given_only_level_2_agent_when_refund_call_waits_then_offered_after_30s() -> None:
    r = Router(policy(refunds=REFUNDS), [agent("bob", {"refunds": 2})])
    ready(r, "bob")
    assert offers(r.handle(ev.CallEnqueued(call("c1", "refunds"), 0.0))) == []
    assert offers(r.tick(29.9)) == []
    out = r.tick(45.0)
    assert offers(out) == [("c1", "bob")]
    assert out[-1].at == 30.0  # the step relaxed at 30 s, not at the tick


def test_given_vip_caller_when_no_skilled_agent_then_overflow_after_30s() -> None:
    vip = {"steps": [{"after_s": 0, "min_level": 3}, {"after_s": 30, "skill": "general"}]}
    r = Router(policy(vip=vip), [agent("gus", {"general": 2})])
    ready(r, "gus")
    assert offers(r.handle(ev.CallEnqueued(call("c1", "vip", tags=frozenset({"vip"})), 0.0))) == []
    assert offers(r.tick(30.0)) == [("c1", "gus")]


def test_given_call_waits_180s_then_callback_offered_once() -> None:
    r = Router(policy(refunds=REFUNDS), [])
    r.handle(ev.CallEnqueued(call("c1", "refunds"), 0.0))
    out = r.tick(200.0)
    assert [(d.call_id, d.waited_s) for d in out if isinstance(d, OfferCallback)] == [("c1", 180.0)]
    assert r.tick(400.0) == []
    r.handle(ev.CallbackAccepted("c1", 401.0))
    stats = r.statistics()
    assert (stats.waiting, stats.callbacks, stats.abandoned) == (0, 1, 0)


def test_given_two_waiting_calls_when_agent_ready_then_higher_priority_first_then_longer_wait() -> None:
    pol = policy(priority={"tags": {"vip": 100}})
    r = Router(pol, [agent("a", {"orders": 3}), agent("b", {"orders": 3}), agent("c", {"orders": 3})])
    r.handle(ev.CallEnqueued(call("old", "orders"), 0.0))
    r.handle(ev.CallEnqueued(call("new", "orders"), 5.0))
    r.handle(ev.CallEnqueued(call("vip", "orders", tags=frozenset({"vip"})), 9.0))
    assert offers(r.handle(ev.AgentLoggedIn("a", 10.0, ready=True))) == [("vip", "a")]
    assert offers(r.handle(ev.AgentLoggedIn("b", 11.0, ready=True))) == [("old", "b")]
    assert offers(r.handle(ev.AgentLoggedIn("c", 12.0, ready=True))) == [("new", "c")]


def test_given_order_value_and_repeat_caller_weights_then_priority_is_data_driven() -> None:
    pol = policy(priority={"ivr": 10, "tags": {"repeat_caller": 30},
                           "order_value": {"points_per_unit": 0.1, "max_points": 25}})
    r = Router(pol, [agent("a", {"orders": 3})])
    r.handle(ev.CallEnqueued(call("rich", "orders", order_value=1000.0), 0.0))  # 25 (capped)
    r.handle(ev.CallEnqueued(call("again", "orders", tags=frozenset({"repeat_caller"})), 1.0))  # 30
    r.handle(ev.CallEnqueued(call("ivr3", "orders", priority=3), 2.0))  # 30, waited less
    assert [c.call_id for c in r.waiting_calls()] == ["again", "ivr3", "rich"]


def test_given_experts_when_best_skill_then_highest_level_then_longest_idle() -> None:
    r = Router(policy(refunds={"steps": [{"after_s": 0, "min_level": 2}]}),
               [agent("lvl3", {"refunds": 3}), agent("lvl5new", {"refunds": 5}),
                agent("lvl5old", {"refunds": 5})])
    r.handle(ev.AgentLoggedIn("lvl3", 0.0, ready=True))
    r.handle(ev.AgentLoggedIn("lvl5old", 1.0, ready=True))
    r.handle(ev.AgentLoggedIn("lvl5new", 2.0, ready=True))
    assert offers(r.handle(ev.CallEnqueued(call("c1", "refunds"), 3.0))) == [("c1", "lvl5old")]
    assert offers(r.handle(ev.CallEnqueued(call("c2", "refunds"), 4.0))) == [("c2", "lvl5new")]
    assert offers(r.handle(ev.CallEnqueued(call("c3", "refunds"), 5.0))) == [("c3", "lvl3")]


def test_given_longest_idle_strategy_then_level_does_not_matter() -> None:
    r = Router(policy(orders={"strategy": "longest_idle", "steps": [{"after_s": 0}]}),
               [agent("expert", {"orders": 5}), agent("junior", {"orders": 1})])
    r.handle(ev.AgentLoggedIn("junior", 0.0, ready=True))
    r.handle(ev.AgentLoggedIn("expert", 1.0, ready=True))
    assert offers(r.handle(ev.CallEnqueued(call("c1", "orders"), 2.0))) == [("c1", "junior")]


def test_given_round_robin_then_agents_take_turns() -> None:
    r = Router(policy(defaults={"strategy": "round_robin", "wrap_up_s": 0}),
               [agent("a", {"general": 1}), agent("b", {"general": 1})])
    ready(r, "a", "b")
    got = []
    for i in range(4):
        out = r.handle(ev.CallEnqueued(call(f"c{i}", "general"), float(i)))
        got += [a for _, a in offers(out)]
        r.handle(ev.OfferAnswered(f"c{i}", got[-1], i + 0.1))
        r.handle(ev.CallHungUp(f"c{i}", i + 0.2))
    assert got == ["a", "b", "a", "b"]


def test_given_language_requirement_then_only_speakers_offered_until_step_drops_it() -> None:
    pol = policy(complaints={"steps": [{"after_s": 0}, {"after_s": 60, "any_language": True}]})
    r = Router(pol, [agent("en", {"complaints": 3}, ("en",)), agent("zh", {"complaints": 3}, ("zh",))])
    r.handle(ev.AgentLoggedIn("en", 0.0, ready=True))
    assert offers(r.handle(ev.CallEnqueued(call("c1", "complaints", language="zh"), 1.0))) == []
    assert offers(r.tick(61.0)) == [("c1", "en")]


def test_given_ivr_minimum_level_then_own_skill_never_below_it() -> None:
    r = Router(policy(refunds=REFUNDS), [agent("two", {"refunds": 2}), agent("gen", {"general": 1})])
    ready(r, "two", "gen")
    r.handle(ev.CallEnqueued(call("c1", "refunds", min_level=3), 0.0))
    assert offers(r.tick(45.0)) == []  # refunds >= 2 does not go below the IVR's 3
    assert offers(r.tick(60.0)) == [("c1", "gen")]


def test_given_ticket_owner_when_ready_within_sticky_window_then_gets_the_call_first() -> None:
    r = Router(policy(defaults={"sticky_s": 20}),
               [agent("owner", {"orders": 1}), agent("other", {"orders": 5})])
    r.handle(ev.AgentLoggedIn("owner", 0.0))  # logged in, paused
    ready(r, "other")
    assert offers(r.handle(ev.CallEnqueued(call("c1", "orders", preferred_agent="owner"), 1.0))) == []
    assert offers(r.handle(ev.AgentReady("owner", 10.0))) == [("c1", "owner")]


def test_given_ticket_owner_not_ready_when_sticky_window_ends_then_others_take_the_call() -> None:
    r = Router(policy(defaults={"sticky_s": 20}),
               [agent("owner", {"orders": 1}), agent("other", {"orders": 5})])
    r.handle(ev.AgentLoggedIn("owner", 0.0))
    ready(r, "other")
    r.handle(ev.CallEnqueued(call("c1", "orders", preferred_agent="owner"), 1.0))
    assert offers(r.tick(21.0)) == [("c1", "other")]


def test_given_ticket_owner_logged_out_then_no_sticky_wait() -> None:
    r = Router(policy(defaults={"sticky_s": 20}),
               [agent("owner", {"orders": 1}), agent("other", {"orders": 5})])
    ready(r, "other")
    out = r.handle(ev.CallEnqueued(call("c1", "orders", preferred_agent="owner"), 1.0))
    assert offers(out) == [("c1", "other")]


def test_given_ring_no_answer_then_agent_paused_missed_and_call_offered_to_next_agent() -> None:
    r = Router(policy(), [agent("a", {"general": 5}), agent("b", {"general": 3})])
    ready(r, "a", "b")
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    out = r.handle(ev.OfferFailed("c1", "a", "no_answer", 15.0))
    assert states(out)[0] == ("a", AgentState.PAUSED, "missed")
    assert offers(out) == [("c1", "b")]
    assert r.statistics().agent_details[0].missed == 1


def test_given_no_answer_policy_ready_then_agent_goes_to_back_of_the_line() -> None:
    r = Router(policy(defaults={"on_no_answer": {"state": "ready"}}),
               [agent("a", {"general": 5}), agent("b", {"general": 5})])
    ready(r, "a", "b")
    r.handle(ev.CallEnqueued(call("c1", "general"), 1.0))  # a: idle longest
    out = r.handle(ev.OfferFailed("c1", "a", "no_answer", 16.0))
    assert offers(out) == [("c1", "b")]
    assert r.agent_status("a").state is AgentState.READY


def test_given_asterisk_never_reports_then_ring_guard_cancels_offer() -> None:
    r = Router(policy(), [agent("a", {"general": 5})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    out = r.tick(30.0)  # ring timeout 15 s + grace 10 s
    assert [(d.agent_id, d.reason) for d in out if isinstance(d, CancelOffer)] == [("a", "no_response")]
    assert r.agent_status("a").state is AgentState.PAUSED


def test_given_busy_phone_then_agent_paused_and_unavailable_phone_not_offerable_until_reachable() -> None:
    r = Router(policy(), [agent("busy", {"general": 5}), agent("gone", {"general": 4})])
    ready(r, "busy", "gone")
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    out = r.handle(ev.OfferFailed("c1", "busy", "busy", 1.0))
    assert ("busy", AgentState.PAUSED, "phone_busy") in states(out)
    assert offers(out) == [("c1", "gone")]
    r.handle(ev.OfferFailed("c1", "gone", "unavailable", 1.5))
    status = r.agent_status("gone")
    assert status.state is AgentState.READY and not status.reachable
    assert offers(r.handle(ev.PhoneReachable("gone", 40.0))) == [("c1", "gone")]


def test_given_unreachable_phone_when_call_arrives_then_not_offered() -> None:
    r = Router(policy(), [agent("a", {"general": 5})])
    ready(r, "a")
    r.handle(ev.PhoneUnreachable("a", 0.5))
    assert offers(r.handle(ev.CallEnqueued(call("c1", "general"), 1.0))) == []


def test_given_caller_hangs_up_during_offer_then_offer_cancelled_and_agent_ready_in_place() -> None:
    r = Router(policy(), [agent("a", {"general": 5}), agent("b", {"general": 5})])
    ready(r, "a", "b")
    r.handle(ev.CallEnqueued(call("c1", "general"), 1.0))
    out = r.handle(ev.CallHungUp("c1", 4.0))
    assert [(d.call_id, d.agent_id, d.reason) for d in out if isinstance(d, CancelOffer)] == [
        ("c1", "a", "caller_hung_up")]
    # a kept their place: still idle longer than b
    assert offers(r.handle(ev.CallEnqueued(call("c2", "general"), 5.0))) == [("c2", "a")]
    assert r.statistics().abandoned == 1


def test_given_call_ends_then_wrap_up_for_the_skill_time_or_until_agent_ready() -> None:
    r = Router(policy(refunds=REFUNDS), [agent("a", {"refunds": 5})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "refunds"), 0.0))
    r.handle(ev.OfferAnswered("c1", "a", 2.0))
    out = r.handle(ev.TalkEnded("c1", 100.0))
    assert states(out) == [("a", AgentState.WRAP_UP, "")]
    assert states(r.tick(144.9)) == []
    assert states(r.tick(145.0)) == [("a", AgentState.READY, "")]
    r.handle(ev.CallEnqueued(call("c2", "refunds"), 150.0))
    r.handle(ev.OfferAnswered("c2", "a", 151.0))
    r.handle(ev.CallHungUp("c2", 160.0))
    assert states(r.handle(ev.AgentReady("a", 170.0))) == [("a", AgentState.READY, "")]


def test_given_pause_requested_during_call_then_paused_after_wrap_up() -> None:
    r = Router(policy(defaults={"wrap_up_s": 10}), [agent("a", {"general": 5})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    r.handle(ev.OfferAnswered("c1", "a", 1.0))
    assert r.handle(ev.AgentPaused("a", "break", 5.0)) == []
    assert r.agent_status("a").after_call == "paused:break"
    r.handle(ev.CallHungUp("c1", 20.0))
    assert states(r.tick(30.0)) == [("a", AgentState.PAUSED, "break")]


def test_given_logout_while_ringing_then_offer_cancelled_and_call_requeued() -> None:
    r = Router(policy(), [agent("a", {"general": 5}), agent("b", {"general": 5})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    out = r.handle(ev.AgentLoggedOut("a", 1.0))
    assert [d.reason for d in out if isinstance(d, CancelOffer)] == ["agent_logged_out"]
    assert offers(r.handle(ev.AgentLoggedIn("b", 2.0, ready=True))) == [("c1", "b")]


def test_given_link_down_then_no_offers_until_it_is_back() -> None:
    r = Router(policy(), [agent("a", {"general": 5})])
    ready(r, "a")
    r.handle(ev.OffersSuspended(0.5))
    assert offers(r.handle(ev.CallEnqueued(call("c1", "general"), 1.0))) == []
    assert offers(r.handle(ev.OffersResumed(2.0))) == [("c1", "a")]


def test_given_policy_reloaded_then_waiting_calls_take_new_steps_and_offers_in_flight_keep_going() -> None:
    r = Router(policy(refunds=REFUNDS), [agent("lvl2", {"refunds": 2}), agent("lvl5", {"refunds": 5})])
    ready(r, "lvl5")
    r.handle(ev.CallEnqueued(call("ringing", "refunds"), 0.0))
    r.handle(ev.AgentLoggedIn("lvl2", 0.0, ready=True))
    r.handle(ev.CallEnqueued(call("waiting", "refunds"), 1.0))
    out = r.reload(policy(refunds={"steps": [{"after_s": 0, "min_level": 1}]}), 5.0)
    assert offers(out) == [("waiting", "lvl2")]
    assert r.call_status("ringing").status == "offered"
    r.handle(ev.OfferAnswered("ringing", "lvl5", 6.0))
    assert r.agent_status("lvl5").state is AgentState.TALKING


def test_given_late_answer_after_router_gave_up_then_reality_wins() -> None:
    r = Router(policy(defaults={"on_no_answer": {"state": "ready"}}),
               [agent("a", {"general": 5}), agent("b", {"general": 5})])
    ready(r, "a", "b")
    r.handle(ev.CallEnqueued(call("c1", "general"), 0.0))
    out = r.handle(ev.OfferFailed("c1", "a", "no_answer", 15.0))
    assert offers(out) == [("c1", "b")]  # a went to the back of the line
    out = r.handle(ev.OfferAnswered("c1", "a", 15.5))  # but a's phone had connected
    assert [(d.agent_id, d.reason) for d in out if isinstance(d, CancelOffer)] == [
        ("b", "answered_elsewhere")]
    assert r.agent_status("a").state is AgentState.TALKING
    assert r.agent_status("b").state is AgentState.READY


def test_given_agent_skills_changed_then_routing_uses_them_at_once() -> None:
    r = Router(policy(), [agent("a", {"general": 5})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("c1", "refunds"), 0.0))
    out = r.handle(ev.AgentAdded(agent("a", {"general": 5, "refunds": 1}), 1.0))
    assert offers(out) == [("c1", "a")]


def test_given_statistics_then_service_level_asa_abandon_rate_and_occupancy_per_skill() -> None:
    r = Router(policy(defaults={"service_level_s": 20, "wrap_up_s": 0}), [agent("a", {"general": 5})])
    ready(r, "a")
    r.handle(ev.CallEnqueued(call("fast", "general"), 0.0))
    r.handle(ev.OfferAnswered("fast", "a", 10.0))
    r.handle(ev.CallEnqueued(call("slow", "general"), 20.0))
    r.handle(ev.CallEnqueued(call("gone", "general"), 25.0))
    r.handle(ev.CallHungUp("gone", 30.0))
    r.handle(ev.CallHungUp("fast", 50.0))  # -> slow offered at 50
    r.handle(ev.OfferAnswered("slow", "a", 50.0))
    r.handle(ev.CallHungUp("slow", 100.0))
    s = r.statistics(100.0)
    general = next(x for x in s.skills if x.skill == "general")
    assert (general.answered, general.abandoned, general.waiting) == (2, 1, 0)
    assert general.service_level == pytest.approx(1 / 3)
    assert general.asa_s == pytest.approx((10.0 + 30.0) / 2)
    assert general.abandon_rate == pytest.approx(1 / 3)
    assert general.occupancy == pytest.approx(1.0)  # offered or talking all the time
    assert s.to_json()["skills"][0]["skill"] == "general"


def test_given_longest_wait_then_tracks_the_oldest_waiting_call() -> None:
    r = Router(policy(), [])
    r.handle(ev.CallEnqueued(call("c1", "orders"), 0.0))
    r.handle(ev.CallEnqueued(call("c2", "orders"), 10.0))
    assert r.statistics(30.0).longest_wait_s == 30.0
    r.handle(ev.CallHungUp("c1", 31.0))
    assert r.statistics(40.0).longest_wait_s == 30.0


def test_given_unknown_agent_then_error_names_it() -> None:
    with pytest.raises(UnknownRoutingAgent, match="nobody"):
        Router(policy(), []).handle(ev.AgentReady("nobody", 0.0))
