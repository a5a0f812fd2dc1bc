"""The agents' use cases, ready for the API: log in, ready, pause, log out, skills; every state
change is stored and pushed to subscribers (the web layer's WebSocket hub).

The service checks requests and turns them into router events; the router decides what state
follows (a pause asked mid-call takes effect after the call). State changes come back as
decisions (:meth:`AgentService.on_decisions`, an engine sink).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import structlog

from callcenter.agents.errors import UnknownAgent
from callcenter.agents.model import AgentProfile, AgentState, check_skills
from callcenter.agents.pause_reasons import PauseReasons, default_pause_reasons
from callcenter.metrics import Metrics, count_caught
from callcenter.routing import events as ev
from callcenter.routing.agent_store import AgentStore
from callcenter.routing.decisions import AgentStateChanged, Decision
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.views import AgentStatus

log = structlog.get_logger("callcenter.agents")

Listener = Callable[[AgentStateChanged], None]


class AgentService:
    """Args:
        engine: the routing engine (router + clock).
        store: where profiles and state changes are kept (None: memory only, for tests/demo).
        known_skills: skill names an agent may have (from ``skills.yaml``), if known.
        pause_reasons: the reasons a person may pause for (``pause_reasons.yaml``).
    """

    def __init__(self, engine: RoutingEngine, store: AgentStore | None = None,
                 known_skills: Iterable[str] | None = None,
                 pause_reasons: PauseReasons | None = None, metrics: Metrics | None = None) -> None:
        self._engine = engine
        self._metrics = metrics
        self.pause_reasons = pause_reasons or default_pause_reasons()
        self._store = store
        self._known = list(known_skills) if known_skills is not None else None
        self._listeners: list[Listener] = []
        self._queues: set[asyncio.Queue[AgentStateChanged]] = set()
        self.pushes_dropped = 0
        engine.add_sink(self.on_decisions)

    # --- start-up ----------------------------------------------------------------------------

    async def start(self, seed: Iterable[AgentProfile] = (), restore: bool = True) -> int:
        """Load the agents from the store (after seeding ``seed`` into it) into the router.
        With ``restore``, agents who were ready or paused when the server stopped come back so
        (those who were on a call come back paused ``restored``; the reconcile after the
        resync puts those still on a live call back to talking). Returns how many agents."""
        profiles = list(seed)
        if self._store is not None:
            if profiles:
                await self._store.seed(profiles)
            profiles = await self._store.load()
        now = self._engine.now()
        for profile in profiles:
            self._engine.submit(ev.AgentAdded(profile, now))
        if restore and self._store is not None:
            for login, (state, reason, _) in (await self._store.last_states()).items():
                if not self._engine.has_agent(login) or state is AgentState.OFFLINE:
                    continue
                if state is AgentState.READY:
                    self._engine.submit(ev.AgentLoggedIn(login, now, ready=True))
                else:
                    # a pause the server set for a consult is the old process's to lift: the
                    # consult is gone with it, so the agent comes back as after any call
                    kept = state is AgentState.PAUSED and reason and reason != ev.CONSULT_PAUSE
                    self._engine.submit(ev.AgentLoggedIn(login, now))
                    self._engine.submit(ev.AgentPaused(login, reason if kept else ev.RESTORED_PAUSE, now))
        return len(profiles)

    # --- use cases ---------------------------------------------------------------------------

    def login(self, agent_id: str, ready: bool = False) -> AgentStatus:
        """Raises: UnknownAgent."""
        self._check(agent_id)
        self._engine.submit(ev.AgentLoggedIn(agent_id, self._engine.now(), ready))
        return self.status(agent_id)

    def ready(self, agent_id: str) -> AgentStatus:
        """Ready for calls (also ends wrap-up early, or cancels a pause asked mid-call).

        Raises: UnknownAgent."""
        self._check(agent_id)
        self._engine.submit(ev.AgentReady(agent_id, self._engine.now()))
        return self.status(agent_id)

    def pause(self, agent_id: str, reason: str) -> AgentStatus:
        """Pause now, or after the current call (``after_call`` in the answer says so).

        Raises: UnknownAgent; InvalidAgentRequest for a reason not configured."""
        self._check(agent_id)
        self.pause_reasons.check(reason)
        self._engine.submit(ev.AgentPaused(agent_id, reason, self._engine.now()))
        return self.status(agent_id)

    def wrap_up_done(self, agent_id: str) -> AgentStatus:
        """Raises: UnknownAgent."""
        self._check(agent_id)
        self._engine.submit(ev.WrapUpDone(agent_id, self._engine.now()))
        return self.status(agent_id)

    def logout(self, agent_id: str) -> AgentStatus:
        """Log out now, or after the current call. Raises: UnknownAgent."""
        self._check(agent_id)
        self._engine.submit(ev.AgentLoggedOut(agent_id, self._engine.now()))
        return self.status(agent_id)

    def status(self, agent_id: str) -> AgentStatus:
        """Raises: UnknownAgent."""
        self._check(agent_id)
        return self._engine.agent_status(agent_id)

    def statuses(self) -> list[AgentStatus]:
        return self._engine.agent_statuses()

    def profile(self, agent_id: str) -> AgentProfile:
        """Raises: UnknownAgent."""
        self._check(agent_id)
        return self._engine.profile(agent_id)

    async def set_skills(self, agent_id: str, skills: Mapping[str, Any]) -> AgentProfile:
        """Replace an agent's skills (levels 1–5); routing uses them at once.

        Raises: UnknownAgent; AgentConfigError naming the bad skill."""
        old = self.profile(agent_id)
        checked = check_skills(skills, "skills", self._known)
        profile = AgentProfile(old.agent_id, old.name, old.dial_string, checked, old.languages,
                               old.max_concurrent, old.db_id)
        return await self.save(profile)

    async def save(self, profile: AgentProfile) -> AgentProfile:
        """Create or update an agent (stored first, then routed with)."""
        if self._store is not None:
            profile = await self._store.save(profile)
        self._engine.submit(ev.AgentAdded(profile, self._engine.now()))
        return profile

    def _check(self, agent_id: str) -> None:
        if not self._engine.has_agent(agent_id):
            raise UnknownAgent(f"no agent {agent_id!r}")

    # --- changes out -------------------------------------------------------------------------

    def on_decisions(self, decisions: list[Decision]) -> None:
        """Engine sink: store and push every agent state change."""
        for decision in decisions:
            if not isinstance(decision, AgentStateChanged):
                continue
            if self._store is not None and decision.state_changed:
                self._store.add(decision)
            for listener in self._listeners:
                try:
                    listener(decision)
                except Exception:
                    count_caught(self._metrics, "agent_listener_failed")
                    log.exception("agent_listener_failed", agent_id=decision.agent_id)
            for queue in self._queues:
                try:
                    queue.put_nowait(decision)
                except asyncio.QueueFull:
                    self.pushes_dropped += 1

    def add_listener(self, listener: Listener) -> None:
        """``listener(change)`` for every change, synchronously (must not block)."""
        self._listeners.append(listener)

    @contextlib.asynccontextmanager
    async def subscribe(self, maxsize: int = 1000) -> AsyncIterator[asyncio.Queue[AgentStateChanged]]:
        """``async with service.subscribe() as queue:`` then ``await queue.get()``; a slow
        reader loses changes beyond ``maxsize`` (counted in ``pushes_dropped``)."""
        queue: asyncio.Queue[AgentStateChanged] = asyncio.Queue(maxsize)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def run(self) -> None:
        """Write state changes to the store, forever (cancel to stop)."""
        if self._store is not None:
            await self._store.run()

    def statistics(self) -> dict[str, Any]:
        store = self._store.statistics() if self._store is not None else {}
        return {"subscribers": len(self._queues), "pushes_dropped": self.pushes_dropped, **store}
