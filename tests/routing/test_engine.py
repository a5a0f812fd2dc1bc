"""The engine: events applied in order, decisions handed to sinks, policy reloaded atomically."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.routing import events as ev
from callcenter.routing.decisions import Decision, Offer
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.errors import RoutingPolicyError
from tests.routing.helpers import agent, call


def _engine(tmp_path: Path, text: str, clock: list[float]) -> RoutingEngine:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return RoutingEngine.from_files(path, [agent("a", {"refunds": 2})], clock=lambda: clock[0])


def test_given_policy_file_changed_when_reloaded_then_waiting_call_follows_new_steps(tmp_path: Path) -> None:
    clock = [0.0]
    engine = _engine(tmp_path, "skills: {refunds: {steps: [{after_s: 0, min_level: 4}]}}\n", clock)
    seen: list[Decision] = []
    engine.add_sink(seen.extend)
    engine.submit(ev.AgentLoggedIn("a", 0.0, ready=True))
    engine.submit(ev.CallEnqueued(call("c1", "refunds"), 1.0))
    assert not [d for d in seen if isinstance(d, Offer)]
    assert engine.policy_path is not None
    engine.policy_path.write_text("skills: {refunds: {steps: [{after_s: 0, min_level: 9}]}}\n",
                                  encoding="utf-8")
    with pytest.raises(RoutingPolicyError, match="min_level"):
        engine.reload()
    assert engine.policy.for_skill("refunds").steps[0].min_level == 4  # untouched
    engine.policy_path.write_text("skills: {refunds: {steps: [{after_s: 0, min_level: 2}]}}\n",
                                  encoding="utf-8")
    clock[0] = 5.0
    engine.reload()
    assert [(d.call_id, d.agent_id) for d in seen if isinstance(d, Offer)] == [("c1", "a")]


def test_given_sink_submits_while_dispatching_then_event_applied_after_in_order(tmp_path: Path) -> None:
    clock = [0.0]
    engine = _engine(tmp_path, "{}\n", clock)
    order: list[str] = []

    def sink(decisions: list[Decision]) -> None:
        for d in decisions:
            order.append(type(d).__name__)
            if isinstance(d, Offer):  # answer from inside the dispatch
                engine.submit(ev.OfferAnswered(d.call_id, d.agent_id, 1.0))

    engine.add_sink(sink)
    engine.submit(ev.AgentLoggedIn("a", 0.0, ready=True))
    engine.submit(ev.CallEnqueued(call("c1", "refunds"), 1.0))
    assert engine.agent_status("a").state.value == "talking"
    assert order == ["AgentStateChanged", "AgentStateChanged", "Offer", "AgentStateChanged"]


async def test_given_wrap_up_timer_then_engine_clock_fires_it(tmp_path: Path) -> None:
    clock = [0.0]
    engine = _engine(tmp_path, "defaults: {wrap_up_s: 1}\n", clock)
    engine.submit(ev.AgentLoggedIn("a", 0.0, ready=True))
    engine.submit(ev.CallEnqueued(call("c1", "refunds"), 0.0))
    engine.submit(ev.OfferAnswered("c1", "a", 0.0))
    engine.submit(ev.CallHungUp("c1", 0.0))
    task = asyncio.create_task(engine.run(max_sleep_s=0.01))
    try:
        clock[0] = 2.0  # the fake clock moved past the wrap-up
        for _ in range(100):
            await asyncio.sleep(0.01)
            if engine.agent_status("a").state.value == "ready":
                break
        assert engine.agent_status("a").state.value == "ready"
    finally:
        task.cancel()
