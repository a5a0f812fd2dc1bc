"""The live streams of a call, driven as the dispatcher and Asterisk drive them: spies asked for
when the call is bridged, audio turned into queued segments, the card-data pause (streams closed
and spies hung up before the mute goes out, started again after the unmute), a drop marked as a
gap and the leg asked for again, a transfer, and the end of the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import numpy as np
import pytest

from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.events import AgentHungUp, Bridged, CallEnded
from callcenter.calls.model import Call, Leg, LegRole, Outcome, Side
from callcenter.console.hub import Feed
from callcenter.live import service as service_module
from callcenter.live import store
from callcenter.live.protocol import Kind, encode, encode_uuid
from callcenter.live.wiring import LiveParts, build_live
from callcenter.settings import LiveSettings
from tests.helpers.polling import wait_until

CALL = "1796100000.1"
CALLER, AGENT, OTHER_AGENT = "PJSIP/carrier-00000001", "PJSIP/1001-00000002", "PJSIP/1002-00000005"


@dataclass
class Asterisk:
    """The AMI side: what the server sent, in order; every action succeeds."""

    sent: list[Action] = field(default_factory=list)

    async def send(self, action: Action) -> AmiResponse:
        self.sent.append(action)
        return AmiResponse(Frame({"Response": "Success"}, ""))

    def spies(self) -> list[tuple[str, str]]:
        """(stream id, spied channel) of each spy asked for."""
        return [(a.header("Channel").rsplit("/", 1)[1], a.header("Data").split(",")[0])
                for a in self.sent if a.name == "Originate"]

    def names(self) -> list[str]:
        return [a.name for a in self.sent]


@dataclass
class Hub:
    """The agents' consoles: nobody is on the call, so the relay pushes to none of them."""

    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def agent_on_call(self, call_id: str) -> str | None:
        return None

    def feed(self, agent_id: str) -> Feed:
        return Feed(keep=1)

    def publish(self, agent_id: str, event: dict[str, Any]) -> dict[str, Any]:
        self.published.append((agent_id, event))
        return event


def the_call() -> Call:
    call = Call(CALL, 0.0, caller_uniqueid="1")
    call.legs["1"] = Leg("1", CALLER, CALL, LegRole.CALLER, Side.CALLER, 0.0)
    return call


@pytest.fixture
async def live(pool: asyncpg.Pool) -> AsyncIterator[tuple[LiveParts, Asterisk]]:
    await pool.execute("DELETE FROM live_utterances WHERE linkedid = $1", CALL)
    ami, call = Asterisk(), the_call()
    parts = build_live(LiveSettings(), pool, ami.send, lambda c: call if c == CALL else None,
                       Hub(), lambda: 100.0)
    await parts.start()
    yield parts, ami
    await parts.close()


def bridged(agent: str = AGENT) -> Bridged:
    return Bridged(CALL, 90.0, agent, "2", "a1", True, 90.0)


async def connect(parts: LiveParts, stream_id: str) -> asyncio.StreamWriter:
    _, writer = await asyncio.open_connection("127.0.0.1", parts.receiver.port)
    writer.write(encode_uuid(stream_id))
    await writer.drain()
    return writer


def speech() -> list[bytes]:
    t = np.arange(8000) / 8000
    voice = sum(np.sin(2 * np.pi * k * 140 * t) / k for k in range(1, 20)) * 4000
    audio = np.concatenate([np.zeros(4000), voice, np.zeros(8000)]).astype("<i2").tobytes()
    return [encode(Kind.AUDIO, audio[i:i + 320]) for i in range(0, len(audio), 320)]


async def test_given_a_bridged_call_then_both_legs_stream_and_speech_becomes_a_queued_segment(live, pool) -> None:
    parts, ami = live
    parts.service.on_call_event(bridged())
    spies = await wait_until(ami.spies, lambda s: len(s) == 2, what="two spies")
    assert {channel for _, channel in spies} == {CALLER, AGENT}
    assert all(a.header("Data").endswith(",qoES") for a in ami.sent)
    customer = next(stream for stream, channel in spies if channel == CALLER)
    writer = await connect(parts, customer)
    for frame in speech():
        writer.write(frame)
    await writer.drain()
    await wait_until(lambda: parts.service.segments, what="a segment stored")
    row = await pool.fetchrow("SELECT speaker, start_s FROM live_segments WHERE linkedid = $1", CALL)
    assert row["speaker"] == "customer" and 10.0 <= row["start_s"] <= 10.6  # 10 s after the bridge
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE kind = 'live_asr' AND status = 'queued'") >= 1
    writer.close()


async def test_given_the_card_data_pause_then_streams_close_before_the_mute_and_return_after(live, pool) -> None:
    parts, ami = live
    parts.service.on_call_event(bridged())
    spies = await wait_until(ami.spies, lambda s: len(s) == 2, what="two spies")
    writers = [await connect(parts, stream) for stream, _ in spies]
    await wait_until(lambda: parts.receiver.statistics()["open"] == 2, what="both connected")
    send = parts.guard_send(ami.send)
    await send(Action("MixMonitorMute", (("Channel", CALLER), ("Direction", "both"), ("State", "1"))))
    names = ami.names()
    mute = names.index("MixMonitorMute")
    assert names[:mute].count("Hangup") == 2, names  # both spies hung up before the mute
    assert parts.receiver.statistics()["open"] == 0
    refused = await connect(parts, spies[0][0])  # a spy still connecting gets nothing in
    await wait_until(lambda: parts.receiver.rejected["unknown_stream"], what="refused while paused")
    await send(Action("MixMonitorMute", (("Channel", CALLER), ("Direction", "both"), ("State", "0"))))
    await wait_until(ami.spies, lambda s: len(s) == 4, what="both spies back after the unmute")
    names = ami.names()
    assert names[names.index("MixMonitorMute") + 1] == "MixMonitorMute"  # none asked for while muted
    gaps = await store.transcript(pool, CALL)
    assert {(g["kind"], g["reason"], g["speaker"]) for g in gaps} == {("gap", "paused", "customer"),
                                                                     ("gap", "paused", "agent")}
    for writer in [*writers, refused]:
        writer.close()


async def test_given_a_stream_that_drops_then_a_gap_and_the_leg_asked_for_again(live, pool) -> None:
    parts, ami = live
    parts.service.on_call_event(bridged())
    spies = await wait_until(ami.spies, lambda s: len(s) == 2, what="two spies")
    customer = next(stream for stream, channel in spies if channel == CALLER)
    writer = await connect(parts, customer)
    await wait_until(lambda: parts.receiver.statistics()["open"] == 1, what="connected")
    writer.close()  # the socket breaks
    await wait_until(ami.spies, lambda s: len(s) == 3, what="the caller's leg asked for again")
    assert ami.spies()[-1][1] == CALLER
    gaps = await wait_until(lambda: store.transcript(pool, CALL), what="the gap")
    assert [(g["reason"], g["speaker"]) for g in gaps] == [("dropped", "customer")]


async def test_given_a_transfer_then_the_new_agent_streams_and_the_old_one_stops(live) -> None:
    parts, ami = live
    parts.service.on_call_event(bridged())
    await wait_until(ami.spies, lambda s: len(s) == 2, what="two spies")
    parts.service.on_call_event(bridged(OTHER_AGENT))
    await wait_until(ami.spies, lambda s: len(s) == 3, what="the new agent's spy")
    assert ami.spies()[-1][1] == OTHER_AGENT
    await wait_until(ami.names, lambda n: "Hangup" in n, what="the old agent's spy hung up")


async def test_given_the_agent_hangs_up_and_the_call_ends_then_every_spy_is_stopped(live) -> None:
    parts, ami = live
    parts.service.on_call_event(bridged())
    await wait_until(ami.spies, lambda s: len(s) == 2, what="two spies")
    parts.service.on_call_event(AgentHungUp(CALL, 120.0, AGENT, 16))
    parts.service.on_call_event(CallEnded(CALL, 121.0, Outcome.ANSWERED, None, 16, None))
    await wait_until(ami.names, lambda n: n.count("Hangup") >= 2, what="both spies hung up")
    assert parts.service.live_calls() == {}


async def test_given_the_database_failing_then_the_card_data_mute_still_goes_out(live, pool,
                                                                                  monkeypatch) -> None:
    parts, ami = live
    parts.service.on_call_event(bridged())
    await wait_until(ami.spies, lambda s: len(s) == 2, what="two spies")

    async def down(*_: object) -> None:
        raise OSError("database unreachable")

    monkeypatch.setattr(store, "open_gap", down)
    monkeypatch.setattr(store, "close_gap", down)
    send = parts.guard_send(ami.send)
    await send(Action("MixMonitorMute", (("Channel", CALLER), ("Direction", "both"), ("State", "1"))))
    assert "MixMonitorMute" in ami.names()  # the recording is muted for the card data anyway
    assert parts.service.write_failures == 2
    await send(Action("MixMonitorMute", (("Channel", CALLER), ("Direction", "both"), ("State", "0"))))
    await wait_until(ami.spies, lambda s: len(s) == 4, what="both spies back after the unmute")


async def test_given_a_stream_that_keeps_dropping_then_live_gives_up_and_the_call_is_no_longer_streamed(
        live, pool, monkeypatch) -> None:
    parts, ami = live
    monkeypatch.setattr(service_module, "MAX_RESTARTS", 1)
    parts.service.on_call_event(bridged())
    spies = await wait_until(ami.spies, lambda s: len(s) == 2, what="two spies")
    assert parts.service.streamed() == {CALL}, "held from the bridge on, before any stream connects"
    customer = next(stream for stream, channel in spies if channel == CALLER)
    writer = await connect(parts, customer)
    await wait_until(lambda: parts.receiver.statistics()["open"] == 1, what="connected")
    writer.close()  # the socket breaks
    assert parts.service.streamed() == {CALL}, "restarting is still live"
    again = await wait_until(ami.spies, lambda s: len(s) == 3, what="the caller's leg asked for again")
    writer = await connect(parts, again[-1][0])
    await wait_until(lambda: parts.receiver.statistics()["open"] == 1, what="connected again")
    writer.close()  # and breaks again: no restart left
    await wait_until(lambda: parts.service.gave_up, what="live gives up")
    assert parts.service.streamed() == set()
    assert len(ami.spies()) == 3, "not asked for again"
