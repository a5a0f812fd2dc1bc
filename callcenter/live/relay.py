"""From stored live utterances to screens: the agent's console, the supervisors' feed, alerts.

Workers store utterances (any worker, any host) and ``NOTIFY live_utterance``; this loop then
reads what was stored after its cursor (a cheap indexed read; also every ``every_s`` in case a
notification was lost) and, for each: pushes it to the agent on the
call (``live_utterance`` on ``/ws/agent``) and to the supervisors (:class:`LiveBoard`), runs the
call's alert rules, and for the customer's words looks up knowledge-base articles and sends
them with the orders heard (``live_assist``). Once a second the silence and handling-target
rules run on every live call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg
import structlog

from callcenter.live import store
from callcenter.live.alerts import AlertRules, CallWatch
from callcenter.live.board import LiveBoard

log = structlog.get_logger("callcenter.live")

NOTIFIED = "live_utterance"  # the live worker's NOTIFY after it stored an utterance


class AgentFeed(Protocol):
    @property
    def pop(self) -> dict[str, Any] | None: ...


class AgentScreens(Protocol):
    """What the relay needs of the agents' consoles (:class:`callcenter.console.hub.ConsoleHub`)."""

    def agent_on_call(self, call_id: str, /) -> str | None: ...

    def feed(self, agent_id: str, /) -> AgentFeed: ...

    def publish(self, agent_id: str, event: dict[str, Any], /) -> dict[str, Any]: ...


class Articles(Protocol):
    async def __call__(self, text: str, language: str | None) -> list[dict[str, Any]]: ...


class LiveRelay:
    """Args:
        live_calls: the calls being streamed now, with when each was bridged.
        target_for: a skill's handling target in seconds.
        articles: knowledge-base search for a customer's words (None: no articles).
    """

    def __init__(self, pool: asyncpg.Pool, hub: AgentScreens, board: LiveBoard, rules: AlertRules,
                 live_calls: Callable[[], dict[str, float]], target_for: Callable[[str], float],
                 clock: Callable[[], float], articles: Articles | None = None) -> None:
        self._pool, self._hub, self._board, self._rules = pool, hub, board, rules
        self._live_calls, self._target_for, self._clock = live_calls, target_for, clock
        self._articles = articles
        self._watches: dict[str, CallWatch] = {}
        self._cursor: int | None = None
        self.lags: deque[float] = deque(maxlen=2000)  # end of speech -> pushed, seconds
        self.delivered = 0
        self.failures = 0
        self._wake = asyncio.Event()

    async def run(self, every_s: float = 0.5) -> None:
        """Deliver until cancelled: at once on ``NOTIFY live_utterance`` (a worker stored one),
        and every ``every_s`` anyway (a lost notification, another writer)."""
        while True:
            try:
                async with self._pool.acquire() as listener:
                    await listener.add_listener(NOTIFIED, self._notified)
                    try:
                        await self._serve(every_s)
                    finally:
                        await listener.remove_listener(NOTIFIED, self._notified)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                self.failures += 1  # the database is away: screens wait, the calls go on
                log.warning("live_relay_unavailable", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _serve(self, every_s: float) -> None:
        ticked = 0.0
        while True:
            self._wake.clear()
            await self.turn()
            if self._clock() - ticked >= 1.0:
                ticked = self._clock()
                self.tick()
            with contextlib.suppress(TimeoutError):  # not wait_for: it may swallow a cancel
                async with asyncio.timeout(every_s):
                    await self._wake.wait()

    async def turn(self) -> int:
        """Deliver what was stored since the last turn; returns how many."""
        if self._cursor is None:
            self._cursor = await store.last_id(self._pool)
        rows = await store.utterances_after(self._pool, self._cursor)
        for u in rows:
            self._cursor = max(self._cursor, int(u["id"]))
            await self._deliver(u)
        return len(rows)

    def tick(self) -> None:
        live = self._live_calls()
        for call_id, bridged_at in live.items():
            for alert in self._watch(call_id).tick(self._clock() - bridged_at):
                self._board.alert(alert.to_json())
        for call_id in [c for c in self._watches if c not in live]:
            del self._watches[call_id]
            self._board.ended(call_id)

    async def _deliver(self, u: dict[str, Any]) -> None:
        call_id = str(u["call_id"])
        agent = self._hub.agent_on_call(call_id)
        message = {k: v for k, v in u.items() if k != "words"}
        if agent is not None:
            self._hub.publish(agent, {**message, "type": "live_utterance"})
        self._board.utterance(message, agent)
        if u.get("speech_end_at"):
            self.lags.append(self._clock() - float(u["speech_end_at"]))
        self.delivered += 1
        if call_id in self._live_calls():
            for alert in self._watch(call_id).utterance(u):
                self._board.alert(alert.to_json())
        if agent is not None and u["kind"] == "speech" and u["speaker"] == "customer":
            await self._assist(agent, u)

    def _watch(self, call_id: str) -> CallWatch:
        watch = self._watches.get(call_id)
        if watch is None:
            agent = self._hub.agent_on_call(call_id)
            pop = self._hub.feed(agent).pop if agent else None
            skill = str((pop or {}).get("skill") or "")
            watch = self._watches[call_id] = CallWatch(call_id, self._rules, self._target_for(skill))
        return watch

    async def _assist(self, agent: str, u: dict[str, Any]) -> None:
        articles: list[dict[str, Any]] = []
        if self._articles is not None and u["text"]:
            pop = self._hub.feed(agent).pop or {}
            language = str((pop.get("ivr") or {}).get("language") or "") or None
            try:
                articles = await self._articles(str(u["text"]), language)
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("live_assist_kb_failed", error=str(exc))
        if articles or u.get("mentions"):
            self._hub.publish(agent, {"type": "live_assist", "call_id": u["call_id"], "utterance_id": u["id"],
                                      "articles": articles, "mentions": u.get("mentions") or []})

    def statistics(self) -> dict[str, Any]:
        lags = sorted(self.lags)

        def pick(q: float) -> float | None:
            return round(lags[min(len(lags) - 1, int(q * len(lags)))], 3) if lags else None

        return {"delivered": self.delivered, "failures": self.failures, "lag_p50_s": pick(0.5),
                "lag_p95_s": pick(0.95), "watched_calls": len(self._watches)}
