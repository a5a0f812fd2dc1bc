"""The relay from stored live utterances to the screens: the agent on the call gets each one,
the supervisors' feed too (with catch-up), the customer's words bring articles and the orders
heard, and the alert rules run on what is said and on the passing time."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from callcenter.live import store
from callcenter.live.alerts import AlertRules
from callcenter.live.board import LiveBoard
from callcenter.live.relay import LiveRelay
from tests.helpers.polling import wait_until

CALL = "1796200000.1"


@dataclass
class Feed:
    pop: dict[str, Any] | None = None


@dataclass
class Hub:
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pop: dict[str, Any] = field(default_factory=lambda: {"skill": "returns", "ivr": {"language": "en"}})

    def agent_on_call(self, call_id: str) -> str | None:
        return "sam" if call_id == CALL else None

    def feed(self, agent: str) -> Feed:
        return Feed(self.pop)

    def publish(self, agent: str, event: dict[str, Any]) -> dict[str, Any]:
        self.published.append((agent, event))
        return event


async def say(pool: asyncpg.Pool, speaker: str, start: float, text: str, sentiment: str | None = None,
              mentions: list[dict[str, str]] | None = None) -> None:
    await pool.execute(
        """INSERT INTO live_utterances (linkedid, speaker, start_s, end_s, text, sentiment, mentions,
                                        speech_end_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, now())""",
        CALL, speaker, start, start + 2.0, text, sentiment, json.dumps(mentions or []))


async def test_given_stored_utterances_then_agent_supervisors_assist_and_alerts_get_them(pool: asyncpg.Pool) -> None:
    hub, now = Hub(), [1000.0]
    board = LiveBoard(lambda: now[0])
    searched: list[tuple[str, str | None]] = []

    async def articles(text: str, language: str | None) -> list[dict[str, Any]]:
        searched.append((text, language))
        return [{"id": 7, "title": "Refunds for broken items", "slug": "refund-broken"}]

    relay = LiveRelay(pool, hub, board, AlertRules(prohibited=frozenset({"stupid"}), silence_s=20.0),
                      lambda: {CALL: 990.0}, lambda skill: 300.0 if skill == "returns" else 600.0,
                      lambda: now[0], articles)
    assert await relay.turn() == 0  # it starts at the newest row: old calls are not replayed
    order = [{"kind": "order", "number": "10000231", "order_id": "7"}]
    await say(pool, "customer", 3.0, "my blender order 10000231 arrived broken", "negative", order)
    await say(pool, "agent", 6.0, "that is a stupid question")
    assert await relay.turn() == 2

    kinds = [(agent, e["type"]) for agent, e in hub.published]
    assert kinds == [("sam", "live_utterance"), ("sam", "live_assist"), ("sam", "live_utterance")]
    assist = hub.published[1][1]
    assert assist["mentions"] == order and assist["articles"][0]["slug"] == "refund-broken"
    assert searched == [("my blender order 10000231 arrived broken", "en")]
    assert "words" not in hub.published[0][1] and hub.published[0][1]["speaker"] == "customer"

    alerts = [e for e in board.events if e["type"] == "live_alert"]
    assert [(a["kind"], a["agent"]) for a in alerts] == [("prohibited", "sam")]
    assert [u["text"] for u in alerts[0]["transcript"]][-1] == "that is a stupid question"

    now[0] = 1000.0 + 300.0  # 310 s since the bridge, 302 s since anyone spoke
    relay.tick()
    assert {a["kind"] for a in board.events if a["type"] == "live_alert"} == {"prohibited", "silence",
                                                                               "over_target"}
    snapshot = board.snapshot()
    assert snapshot["calls"][0]["agent"] == "sam" and len(snapshot["calls"][0]["transcript"]) == 2
    assert board.since(board.seq - 1) == [board.events[-1]]
    assert relay.statistics()["delivered"] == 2


async def test_given_the_call_over_then_supervisors_hear_it_ended(pool: asyncpg.Pool) -> None:
    hub, live = Hub(), {CALL: 990.0}
    board = LiveBoard(lambda: 1000.0)
    relay = LiveRelay(pool, hub, board, AlertRules(), lambda: live, lambda skill: 600.0,
                      lambda: 1000.0)
    await relay.turn()
    await say(pool, "customer", 1.0, "hello")
    await relay.turn()
    live.clear()
    relay.tick()
    assert board.events[-1]["type"] == "live_call_ended" and board.calls == {}
    assert await store.transcript(pool, CALL)


async def test_given_the_relay_running_then_a_notified_utterance_reaches_the_agent(pool: asyncpg.Pool) -> None:
    hub = Hub()
    relay = LiveRelay(pool, hub, LiveBoard(lambda: 1000.0), AlertRules(), lambda: {CALL: 990.0},
                      lambda skill: 600.0, lambda: 1000.0)
    task = asyncio.create_task(relay.run(every_s=600.0))  # only a notification can wake it in time
    try:
        await wait_until(lambda: relay._cursor is not None, what="the relay at its cursor")
        await asyncio.sleep(0.3)  # the first turn is over: it now waits
        await say(pool, "agent", 9.0, "let me check that for you")
        await pool.execute("SELECT pg_notify('live_utterance', '1')")
        await wait_until(lambda: hub.published, what="the utterance on the agent's screen", timeout_s=20)
        assert hub.published[0][1]["text"] == "let me check that for you"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
