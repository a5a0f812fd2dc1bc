"""Routing end to end through the PBX simulator: real AMI over TCP, the real IVR flow (callers
press through the after-sales menus), the real router and a real PostgreSQL.

Each test has its own small scenario, routing policy and agents file (``sim_harness.running``)
and runs at 30 simulated seconds per real second. Assertions are on the router's decisions and
agent states (times in simulated seconds) and on the calls stored in the database; every test
ends with ``Harness.finish``: no agent left offered or talking, every stored call ended with an
outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from callcenter.agents.model import AgentProfile, AgentState
from callcenter.clock import ScaledClock
from callcenter.routing import events as ev
from callcenter.routing.decisions import Decision, Offer
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.policy import parse_policy
from callcenter.routing.router import Router
from tests.routing.sim_harness import (
    EN_CUSTOMERS,
    Harness,
    agent_entry,
    agent_history,
    caller,
    fetch,
    offers_of,
    phone,
    running,
)

pytestmark = pytest.mark.integration

REFUNDS_ANY_LEVEL = {"steps": [{"after_s": 0, "min_level": 1}]}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    """A new, empty database for each test (agents' last states must not carry over)."""
    return new_database()


def policy(**skills: Any) -> dict[str, Any]:
    defaults = skills.pop("defaults", {})
    return {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 3, **defaults}, "skills": skills}


def ts(iso: str | None) -> float:
    assert iso is not None
    return datetime.fromisoformat(iso).timestamp()


def transitions(h: Harness, agent_id: str) -> list[tuple[str, str]]:
    return [(s.state.value, s.reason) for s in h.probe.states(agent_id)]


# --- 1. skill match --------------------------------------------------------------------------

async def test_refunds_calls_go_to_the_best_refunds_agents_never_to_a_higher_level_agent_without_the_skill(
        fresh_db: str, tmp_path: Path) -> None:
    agents = [agent_entry("gina", "1001", {"general": 5, "returns": 5, "orders": 5}),
              agent_entry("rita", "1002", {"refunds": 2}),
              agent_entry("rex", "1003", {"refunds": 4, "general": 1})]
    phones = [phone("1001"), phone("1002"), phone("1003", hangup_after_s=20.0)]
    async with running(tmp_path, fresh_db, policy=policy(refunds=REFUNDS_ANY_LEVEL),
                       agents=agents, phones=phones) as h:
        h.call(caller(EN_CUSTOMERS[0]))
        await h.sleep(1.0)  # a second behind in the IVR: rex is on the first call by then
        h.call(caller(EN_CUSTOMERS[1]))
        await h.wait_for(lambda: len(h.probe.offers()) == 2, 60, "two offers")
        rows = await h.finish()

        first, second = h.probe.enqueued()
        assert (first.call.skill, second.call.skill) == ("refunds", "refunds")
        assert [(o.call_id, o.agent_id) for o in h.probe.offers()] == [
            (first.call.call_id, "rex"),     # level 4 beats level 2
            (second.call.call_id, "rita"),   # rex is talking: the next best refunds agent
        ]
        assert transitions(h, "gina") == []  # general 5 but no refunds: never offered
        assert h.state("gina") is AgentState.READY
        for agent_id in ("rex", "rita"):
            assert transitions(h, agent_id)[:3] == [("offered", ""), ("talking", ""), ("wrap_up", "")]

    assert [r["linkedid"] for r in rows] == [first.call.call_id, second.call.call_id]
    assert [r["outcome"] for r in rows] == ["answered", "answered"]
    assert [r["agent_channel"].rsplit("-", 1)[0] for r in rows] == ["PJSIP/1003", "PJSIP/1002"]
    assert [[(o["dial_string"], o["result"]) for o in offers_of(r)] for r in rows] == [
        [("PJSIP/1003", "answered")], [("PJSIP/1002", "answered")]]


# --- 2. overflow after the step time ---------------------------------------------------------

async def test_refunds_call_overflows_to_the_general_agent_only_after_the_step_time(
        fresh_db: str, tmp_path: Path) -> None:
    step_s = 10.0
    refunds = {"steps": [{"after_s": 0, "min_level": 4}, {"after_s": step_s, "skill": "general"}]}
    agents = [agent_entry("gina", "1001", {"general": 3}),
              agent_entry("rita", "1002", {"refunds": 2})]  # below the refunds level at every step
    async with running(tmp_path, fresh_db, policy=policy(refunds=refunds), agents=agents,
                       phones=[phone("1001"), phone("1002")]) as h:
        h.call(caller(EN_CUSTOMERS[0]))
        await h.wait_for(lambda: bool(h.probe.enqueued()), 60, "call enqueued")
        [enqueued] = h.probe.enqueued()
        call_id = enqueued.call.call_id

        await h.sleep(step_s / 2)  # in the first step: the general agent is ready but not allowed
        status = h.server.engine.call_status(call_id)
        assert status is not None and (status.status, status.step) == ("waiting", 1)
        assert h.probe.offers() == []
        assert h.state("gina") is AgentState.READY

        await h.wait_for(lambda: bool(h.probe.offers()), 2 * step_s, "offer after the step")
        rows = await h.finish()
        [offer] = h.probe.offers()
        assert (offer.call_id, offer.agent_id, offer.skill) == (call_id, "gina", "refunds")
        assert offer.at - enqueued.at == pytest.approx(step_s, abs=0.05)
        assert transitions(h, "rita") == []

    [row] = rows
    assert (row["linkedid"], row["outcome"]) == (call_id, "answered")
    [stored] = offers_of(row)
    assert (stored["dial_string"], stored["result"]) == ("PJSIP/1001", "answered")
    # the Originate really went out at the step time, not a timer tick later
    assert step_s - 0.05 <= ts(stored["sent_at"]) - enqueued.at <= step_s + 2.0


async def test_engine_fires_timers_on_time_on_a_scaled_clock(tmp_path: Path) -> None:
    """The engine waits a timer ``d`` clock seconds away for ``d / speed`` real seconds (it used
    to wait up to a real second, ``speed`` clock seconds late, before firing a step)."""
    speed = 50.0
    clock = ScaledClock(speed)
    path = tmp_path / "routing.yaml"
    path.write_text("skills:\n  refunds:\n    steps:\n      - {after_s: 0, min_level: 4}\n"
                    "      - {after_s: 10, skill: general}\n", encoding="utf-8")
    engine = RoutingEngine.from_files(path, [AgentProfile("g", "G", "PJSIP/1", {"general": 1},
                                                          frozenset({"en"}))], clock=clock.now,
                                      time_scale=clock.speed)
    assert engine.time_scale == speed
    sent: list[tuple[Decision, float]] = []
    engine.add_sink(lambda decisions: sent.extend((d, clock.now()) for d in decisions))
    engine.submit(ev.AgentLoggedIn("g", clock.now(), ready=True))
    enqueued_at = clock.now()
    engine.submit(ev.CallEnqueued(ev.CallRequest("c1", "refunds", language="en"), enqueued_at))
    task = asyncio.create_task(engine.run())
    try:
        while not any(isinstance(d, Offer) for d, _ in sent):
            assert clock.now() - enqueued_at < 60, "the step never fired"
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
    [(offer, handed_out_at)] = [(d, at) for d, at in sent if isinstance(d, Offer)]
    assert offer.at - enqueued_at == pytest.approx(10.0)
    assert handed_out_at - enqueued_at < 12.0  # before the fix: 50 (a real second of waiting)
    assert RoutingEngine(Router(parse_policy({}))).time_scale == 1.0


# --- 3. no answer → re-offer -----------------------------------------------------------------

async def test_unanswered_offer_times_out_pauses_the_agent_missed_and_goes_to_the_next_agent(
        fresh_db: str, tmp_path: Path) -> None:
    ring_s = 8.0
    agents = [agent_entry("rex", "1003", {"refunds": 5}), agent_entry("rita", "1002", {"refunds": 3})]
    phones = [phone("1003", never_answers=True), phone("1002", answer_after_s=1.0)]
    rules = policy(refunds=REFUNDS_ANY_LEVEL, defaults={
        "ring_timeout_s": ring_s, "on_no_answer": {"state": "paused", "reason": "missed"}})
    async with running(tmp_path, fresh_db, policy=rules, agents=agents, phones=phones) as h:
        h.call(caller(EN_CUSTOMERS[2]))
        await h.wait_for(lambda: len(h.probe.offers()) == 2, 120, "the second offer")
        rows = await h.finish()

        [enqueued] = h.probe.enqueued()
        call_id = enqueued.call.call_id
        first, second = h.probe.offers()
        assert [(o.call_id, o.agent_id) for o in (first, second)] == [(call_id, "rex"), (call_id, "rita")]
        assert first.ring_timeout_s == ring_s
        # re-offered when the phone gave up ringing (Asterisk's Originate timeout), not earlier
        assert ring_s - 0.05 <= second.at - first.at <= ring_s + 2.0
        assert transitions(h, "rex") == [("offered", ""), ("paused", "missed")]
        assert h.state("rex") is AgentState.PAUSED
        assert h.server.engine.agent_status("rex").reason == "missed"
        assert transitions(h, "rita")[:2] == [("offered", ""), ("talking", "")]
        missed = [e for e in h.probe.events if isinstance(e, ev.OfferFailed)]
        assert [(e.agent_id, e.result) for e in missed] == [("rex", "no_answer")]

    [row] = rows
    assert (row["linkedid"], row["outcome"]) == (call_id, "answered")
    assert row["agent_channel"].startswith("PJSIP/1002-")
    stored = offers_of(row)
    assert [(o["dial_string"], o["result"]) for o in stored] == [
        ("PJSIP/1003", "no_answer"), ("PJSIP/1002", "answered")]
    assert stored[0]["cause"] == 19  # no answer, as Asterisk reports a ring timeout
    assert ring_s - 0.05 <= ts(stored[0]["ended_at"]) - ts(stored[0]["sent_at"]) <= ring_s + 2.0
    assert ts(stored[1]["sent_at"]) >= ts(stored[0]["ended_at"])
    history = await agent_history(fresh_db, "rex")
    assert [(s, r) for s, r, _ in history][-1] == ("paused", "missed")


# --- 4. the caller hangs up while the agent's phone rings -------------------------------------

async def test_caller_abandoning_during_the_offer_cancels_the_agent_leg_and_the_agent_is_ready_again(
        fresh_db: str, tmp_path: Path) -> None:
    patience_s = 6.0
    agents = [agent_entry("rex", "1003", {"refunds": 5})]
    async with running(tmp_path, fresh_db, agents=agents,
                       policy=policy(refunds=REFUNDS_ANY_LEVEL, defaults={"ring_timeout_s": 40}),
                       phones=[phone("1003", never_answers=True)]) as h:
        h.call(caller(EN_CUSTOMERS[3], patience_s=patience_s, survey=None))
        await h.wait_for(lambda: bool(h.probe.offers()), 60, "offer")
        await h.wait_for(lambda: any(ch.name.startswith("PJSIP/1003-") for ch in h.simulator.channels()),
                         30, "the agent's phone ringing")
        rows = await h.finish(60)

        [offer] = h.probe.offers()
        [cancel] = h.probe.cancels()
        assert (cancel.call_id, cancel.agent_id, cancel.offer_id, cancel.reason) == (
            offer.call_id, "rex", offer.offer_id, "caller_hung_up")
        assert cancel.at - offer.at < 40 - 5  # long before the ring timeout
        assert transitions(h, "rex") == [("offered", ""), ("ready", "")]
        assert h.state("rex") is AgentState.READY
        assert not any(ch.name.startswith("PJSIP/1003-") for ch in h.simulator.channels())

    [row] = rows
    assert (row["linkedid"], row["outcome"], row["hangup_by"]) == (offer.call_id, "abandoned", "caller")
    [stored] = offers_of(row)
    assert (stored["dial_string"], stored["result"]) == ("PJSIP/1003", "cancelled")
    legs = await fetch(fresh_db, "SELECT l.channel, l.ended_at, l.answered_at FROM call_legs l"
                                 " JOIN calls c ON c.id = l.call_id WHERE c.linkedid = $1"
                                 " AND l.channel LIKE 'PJSIP/1003-%'", offer.call_id)
    [leg] = legs
    assert leg["answered_at"] is None and leg["ended_at"] is not None
    # hung up by the server when the caller left, not by the 40 s ring timeout
    assert leg["ended_at"].timestamp() - row["ended_at"].timestamp() < 3.0


# --- 5. wrap-up ------------------------------------------------------------------------------

async def test_agent_is_in_wrap_up_for_the_skills_wrap_up_time_then_ready(
        fresh_db: str, tmp_path: Path) -> None:
    wrap_s = 15.0
    refunds = {**REFUNDS_ANY_LEVEL, "wrap_up_s": wrap_s}
    agents = [agent_entry("rex", "1003", {"refunds": 5})]
    async with running(tmp_path, fresh_db, policy=policy(refunds=refunds, defaults={"wrap_up_s": 3}),
                       agents=agents, phones=[phone("1003", hangup_after_s=6.0)]) as h:
        h.call(caller(EN_CUSTOMERS[4]))
        await h.wait_for(lambda: h.state("rex") is AgentState.WRAP_UP, 90, "wrap-up")
        await h.sleep(wrap_s / 2)
        assert h.state("rex") is AgentState.WRAP_UP  # the skill's 15 s, not the default 3 s
        await h.wait_for(lambda: h.state("rex") is AgentState.READY, wrap_s, "ready after wrap-up")
        rows = await h.finish()

        states = h.probe.states("rex")
        assert [(s.state.value, s.reason) for s in states] == [
            ("offered", ""), ("talking", ""), ("wrap_up", ""), ("ready", "")]
        wrap, ready = states[2], states[3]
        assert ready.at - wrap.at == pytest.approx(wrap_s, abs=0.05)
        [ended] = [e for e in h.probe.events if isinstance(e, ev.TalkEnded | ev.CallHungUp)][:1]
        assert wrap.at == pytest.approx(ended.at, abs=0.05)  # wrap-up starts when the talk ends

    [row] = rows
    assert row["outcome"] == "answered" and row["agent_channel"].startswith("PJSIP/1003-")
    assert row["hangup_by"] in ("agent", "caller")
    history = [(s, at) for s, _, at in await agent_history(fresh_db, "rex")]
    assert [s for s, _ in history][-2:] == ["wrap_up", "ready"]
    assert history[-1][1] - history[-2][1] == pytest.approx(wrap_s, abs=0.05)


async def test_ready_ends_wrap_up_early_and_the_waiting_call_is_offered_at_once(
        fresh_db: str, tmp_path: Path) -> None:
    wrap_s = 30.0
    refunds = {**REFUNDS_ANY_LEVEL, "wrap_up_s": wrap_s}
    agents = [agent_entry("rex", "1003", {"refunds": 5})]
    async with running(tmp_path, fresh_db, policy=policy(refunds=refunds), agents=agents,
                       phones=[phone("1003", hangup_after_s=6.0)]) as h:
        h.call(caller(EN_CUSTOMERS[4]))
        await h.sleep(3.0)
        h.call(caller(EN_CUSTOMERS[5]))  # waits for rex, the only agent
        await h.wait_for(lambda: h.state("rex") is AgentState.WRAP_UP, 90, "first wrap-up")
        first, second = h.probe.enqueued()
        status = h.server.engine.call_status(second.call.call_id)
        assert status is not None and status.status == "waiting"

        await h.sleep(5.0)
        answer = h.server.agents.ready("rex")
        assert (answer.state, answer.reason) == (AgentState.OFFERED, "")  # ready, then offered
        ready_at = h.now
        rows = await h.finish()
        wrap_started = h.probe.states("rex")[2].at

        offers = h.probe.offers()
        assert [(o.call_id, o.agent_id) for o in offers] == [
            (first.call.call_id, "rex"), (second.call.call_id, "rex")]
        assert offers[1].at - wrap_started < wrap_s / 2  # long before the wrap-up timer
        assert offers[1].at == pytest.approx(ready_at, abs=0.5)
        assert transitions(h, "rex") == [
            ("offered", ""), ("talking", ""), ("wrap_up", ""), ("ready", ""),
            ("offered", ""), ("talking", ""), ("wrap_up", "")]
        # the first wrap-up's timer (due at wrap_started + 30) is stale: the second wrap-up
        # lasts its full time
        await h.wait_for(lambda: h.state("rex") is AgentState.READY, 2 * wrap_s, "second wrap-up over")
        states = h.probe.states("rex")
        assert len(states) == 8 and states[7].state is AgentState.READY
        assert states[7].at - states[6].at == pytest.approx(wrap_s, abs=0.05)

    assert [r["outcome"] for r in rows] == ["answered", "answered"]
    assert [r["linkedid"] for r in rows] == [first.call.call_id, second.call.call_id]
