"""Runs the pure router in the server: one place that feeds it events, in order, and hands its
decisions to the adapters (offers over AMI, agent-state storage and pushes, statistics).

Everything here runs on the event loop; :meth:`RoutingEngine.submit` is synchronous and never
awaits, so each event is applied atomically. An adapter that submits while decisions are being
handed out (a sink reacting to a decision) is queued and applied right after, in order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import structlog

from callcenter.agents.model import AgentProfile
from callcenter.clock import wall_time
from callcenter.metrics import Metrics, count_caught
from callcenter.routing import events as ev
from callcenter.routing.decisions import Decision
from callcenter.routing.policy import RoutingPolicy, load_policy
from callcenter.routing.router import Router
from callcenter.routing.stats import RoutingStatistics
from callcenter.routing.views import AgentStatus, CallStatusView
from callcenter.routing.waiting import why_waiting
from callcenter.runtime.periodic import periodic

log = structlog.get_logger("callcenter.routing")

Sink = Callable[[list[Decision]], None]


class RoutingEngine:
    """The router plus its clock, its sinks and its policy file.

    Args:
        router: the pure router.
        clock: wall-clock seconds (injectable for tests).
        policy_path: where :meth:`reload` reads the policy from.
        known_skills: skill names the policy may use (from ``skills.yaml``), if known.
        time_scale: clock seconds per real second (the demo's and tests' scaled clocks run
            faster than real time: pass the clock's ``speed``).
    """

    def __init__(self, router: Router, clock: Callable[[], float] = wall_time,
                 policy_path: Path | None = None, known_skills: Iterable[str] | None = None,
                 time_scale: float = 1.0, metrics: Metrics | None = None) -> None:
        self.router = router
        self._metrics = metrics
        self.clock = clock
        self.time_scale = time_scale
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.policy_path = policy_path
        self.known_skills = list(known_skills) if known_skills is not None else None
        self._sinks: list[Sink] = []
        self._queue: deque[ev.RouterEvent] = deque()
        self._busy = False
        self._wake = asyncio.Event()
        self.events_applied = 0
        self.sink_failures = 0

    @classmethod
    def from_files(cls, policy_path: Path, agents: Iterable[AgentProfile] = (),
                   known_skills: Iterable[str] | None = None,
                   clock: Callable[[], float] = wall_time,
                   time_scale: float = 1.0, metrics: Metrics | None = None) -> RoutingEngine:
        """Raises: RoutingPolicyError (names the field)."""
        known = list(known_skills) if known_skills is not None else None
        policy = load_policy(policy_path, known)
        return cls(Router(policy, agents, start=clock()), clock, policy_path, known, time_scale, metrics)

    def add_sink(self, sink: Sink) -> None:
        """``sink(decisions)`` after every event that decided something (never raises into us)."""
        self._sinks.append(sink)

    def submit(self, event: ev.RouterEvent) -> None:
        """Apply ``event`` now (or right after the event being applied)."""
        self._queue.append(event)
        if self._busy:
            return
        self._busy = True
        try:
            while self._queue:
                self._dispatch(self.router.handle(self._queue.popleft()))
                self.events_applied += 1
        finally:
            self._busy = False
        self._wake.set()

    def _dispatch(self, decisions: list[Decision]) -> None:
        if not decisions:
            return
        for sink in self._sinks:
            try:
                sink(decisions)
            except Exception:
                self.sink_failures += 1
                count_caught(self._metrics, "routing_sink_failed")
                log.exception("routing_sink_failed", sink=getattr(sink, "__qualname__", repr(sink)))

    def now(self) -> float:
        return self.clock()

    def reload(self, policy: RoutingPolicy | None = None) -> RoutingPolicy:
        """Swap in ``policy`` (default: read ``policy_path`` again). Nothing changes when the new
        policy is invalid; calls in flight keep working either way.

        Raises:
            RoutingPolicyError: the file is invalid (names the field).
        """
        if policy is None:
            if self.policy_path is None:
                raise ValueError("no policy file to reload from")
            policy = load_policy(self.policy_path, self.known_skills)
        self._dispatch(self.router.reload(policy, self.clock()))
        log.info("routing_policy_reloaded", skills=sorted(policy.skills))
        self._wake.set()
        return policy

    def statistics(self) -> RoutingStatistics:
        return self.router.statistics(self.clock())

    # --- what others may ask ---------------------------------------------------------------

    @property
    def policy(self) -> RoutingPolicy:
        return self.router.policy

    def agent_status(self, agent_id: str) -> AgentStatus:
        """Raises: UnknownRoutingAgent."""
        return self.router.agent_status(agent_id)

    def agent_statuses(self) -> list[AgentStatus]:
        return self.router.agent_statuses()

    def profile(self, agent_id: str) -> AgentProfile:
        """Raises: UnknownRoutingAgent."""
        return self.router.profile(agent_id)

    def has_agent(self, agent_id: str) -> bool:
        return self.router.has_agent(agent_id)

    def call_status(self, call_id: str) -> CallStatusView | None:
        """Where routing has the call (None: not queued, or done)."""
        return self.router.call_status(call_id)

    def waiting_calls(self) -> list[CallStatusView]:
        return self.router.waiting_calls()

    def why_waiting(self) -> list[dict[str, Any]]:
        """Each waiting call with the agents able to take it (the wallboard's view)."""
        return why_waiting(self.router, self.clock())

    def callback_offer_in(self, call_id: str) -> float | None:
        """Seconds until the call is offered a callback (None: no offer will come)."""
        due = self.router.callback_due_at(call_id)
        return None if due is None else max(0.0, due - self.clock())

    def callbacks_waiting(self) -> tuple[int, float]:
        """(callbacks not yet connected, the longest wait among them: since the caller queued)."""
        return self.router.callbacks_waiting(self.clock())

    def next_due(self) -> float | None:
        """When the router's next timer fires."""
        return self.router.next_due()

    def dial_strings(self) -> dict[str, str]:
        return self.router.dial_strings()

    def profiles_version(self) -> int:
        return self.router.profiles_version()

    async def run(self, max_sleep_s: float = 1.0) -> None:
        """Fire the router's timers on time, forever (cancel to stop).

        ``max_sleep_s`` is real time; a timer ``d`` clock seconds away is waited for
        ``d / time_scale`` real seconds (waiting ``d`` real seconds, capped at ``max_sleep_s``,
        fired timers up to ``max_sleep_s * time_scale`` clock seconds late on a scaled clock).
        """

        def delay() -> float:
            due = self.router.next_due()
            return max_sleep_s if due is None else min(
                max_sleep_s, max(0.0, due - self.clock()) / self.time_scale)

        async def tick() -> None:
            due = self.router.next_due()
            if due is None or due <= self.clock():  # not when woken before the next timer
                self.submit(ev.Tick(self.clock()))
            self._wake.clear()  # the tick's own wake-up

        await periodic("routing-timers", delay, tick, wake=self._wake, retry_on=())
