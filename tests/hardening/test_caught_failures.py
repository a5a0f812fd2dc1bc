"""Errors a part catches, logs and lives with are counted on ``/metrics``
(``callcenter_caught_failures{where}``, ``where`` being the log event): a console listener that
raises on an agent's state change, a routing sink that raises on a decision. The other
listeners and sinks are told all the same."""

from __future__ import annotations

from callcenter.metrics import Metrics
from callcenter.routing import events as ev
from callcenter.routing.agent_service import AgentService
from callcenter.routing.decisions import AgentStateChanged, Decision
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.router import Router
from tests.routing.helpers import agent, policy


def caught(metrics: Metrics, where: str) -> float:
    return metrics.registry.get_sample_value("callcenter_caught_failures_total", {"where": where}) or 0.0


async def test_given_a_listener_that_raises_when_an_agent_logs_in_then_counted_and_the_next_listener_told(
        ) -> None:
    metrics = Metrics()
    engine = RoutingEngine(Router(policy(), start=0.0), lambda: 0.0)
    service = AgentService(engine, metrics=metrics)
    await service.start(seed=[agent("sam", {"refunds": 5})])
    told: list[AgentStateChanged] = []

    def broken(change: AgentStateChanged) -> None:
        raise RuntimeError("the console is gone")

    service.add_listener(broken)
    service.add_listener(told.append)
    service.login("sam", ready=True)
    assert [change.agent_id for change in told] == ["sam"]
    assert caught(metrics, "agent_listener_failed") == 1.0
    service.pause("sam", "break")
    assert len(told) == 2 and caught(metrics, "agent_listener_failed") == 2.0


async def test_given_a_routing_sink_that_raises_when_routing_decides_then_counted_and_the_next_sink_runs(
        ) -> None:
    metrics = Metrics()
    engine = RoutingEngine(Router(policy(), start=0.0), lambda: 0.0, metrics=metrics)
    decided: list[list[Decision]] = []

    def broken(decisions: list[Decision]) -> None:
        raise RuntimeError("the AMI edge is confused")

    engine.add_sink(broken)
    engine.add_sink(decided.append)
    engine.submit(ev.AgentAdded(agent("sam", {"refunds": 5}), 0.0))
    engine.submit(ev.AgentLoggedIn("sam", 0.0, ready=True))
    assert decided, "the second sink heard nothing"
    assert caught(metrics, "routing_sink_failed") == len(decided) == engine.sink_failures
