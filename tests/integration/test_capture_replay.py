"""Every real Asterisk capture, replayed over TCP through the AMI adapter into the call tracker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AgiChannelGone, AmiActionFailed, AmiError
from callcenter.ami.messages import Action, AmiEvent
from callcenter.calls.model import Call, CallState, Outcome
from callcenter.calls.tracker import CallTracker
from callcenter.server.replay import replay_records
from callcenter.settings import AmiSettings, Secret
from tests.amilab import CAPTURES, TRANSCRIPTS, CaptureServer, capture


def test_asterisk_lab_captures_are_present() -> None:
    assert len(CAPTURES) >= 11, f"expected the Asterisk captures in {TRANSCRIPTS}"


@dataclass
class Run:
    tracker: CallTracker
    events: list[AmiEvent] = field(default_factory=list)
    agi_results: list[Any] = field(default_factory=list)
    server: CaptureServer | None = None

    def calls(self) -> list[Call]:
        return [c for c in sorted(self.tracker.calls.values(), key=lambda c: c.arrived_at)
                if c.caller_uniqueid]


def settings_for(port: int, **overrides: Any) -> AmiSettings:
    values: dict[str, Any] = {"port": port, "secret": Secret("lab-secret"), "ping_interval_s": 3600.0,
                              "action_timeout_s": 5.0, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
    values.update(overrides)
    return AmiSettings(**values)


@contextlib.asynccontextmanager
async def running(client: AmiClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, AmiError):
            await task


async def play(name: str, split_at: int | None = None) -> Run:
    """Drive the adapter through a capture exactly as the lab client did."""
    run = Run(CallTracker())
    async with CaptureServer(capture(name), split_at=split_at) as server:
        run.server = server
        client = AmiClient(settings_for(server.port))
        client.subscribe(run.events.append)
        client.subscribe(run.tracker.apply_event)
        client.observe_actions(run.tracker.apply_action)
        agi_tasks: list[asyncio.Task[Any]] = []
        async with running(client):
            await client.wait_connected(5)
            await server.wait_step(0)
            for step, (action, _) in enumerate(server.script.actions()):
                if step == 0:
                    continue  # Login, sent by the client itself
                if action.name == "Logoff":
                    break
                if action.name == "AGI":
                    agi_tasks.append(asyncio.create_task(
                        client.agi(action.header("Channel"), action.header("Command"), timeout=5)))
                else:
                    with contextlib.suppress(AmiActionFailed):
                        await client.send(Action(action.name, action.headers,
                                                 is_list=action.name in ("CoreShowChannels", "Status",
                                                                         "BridgeList")))
                await server.wait_step(step)
            done = await asyncio.gather(*agi_tasks, return_exceptions=True)
            run.agi_results = list(done)
        assert server.mismatches == []
    return run


@pytest.mark.parametrize("name", CAPTURES)
async def test_given_capture_when_replayed_over_tcp_then_same_calls_as_offline_replay(name: str) -> None:
    run = await play(name)
    offline = replay_records(TRANSCRIPTS / f"{name}.jsonl")
    live = [c.to_record() for c in run.calls()]
    keys = ("linkedid", "caller_number", "caller_name", "state", "outcome", "agent_channel",
            "digits", "hangup_cause", "hangup_by", "recordings")
    assert [{k: r[k] for k in keys} for r in live] == [{k: r[k] for k in keys} for r in offline]
    for result in run.agi_results:
        assert not isinstance(result, Exception) or isinstance(result, AgiChannelGone), result


async def test_ivr_route_record_is_one_answered_call_bridged_to_the_agent() -> None:
    run = await play("ivr_route_record")
    [call] = run.calls()
    assert call.outcome is Outcome.ANSWERED
    assert call.agent is not None and call.agent.channel.startswith("Local/1001@sim-agent")
    assert call.digits == "2"
    assert len(call.recordings) == 3
    assert {p.rsplit("-", 1)[-1] for p in call.recordings[1:]} == {"customer.wav", "agent.wav"}
    assert call.hangup_by == "agent" and call.hangup_cause == 16
    assert call.answered_at is not None and call.ended_at is not None
    results = [r for r in run.agi_results if not isinstance(r, Exception)]
    assert [r.result for r in results] == [0, 0, 2]  # ANSWER, STREAM FILE, GET DATA → "2"
    assert results[1].endpos == 11234
    # EXEC MusicOnHold was cut short by Bridge: Asterisk sends no AsyncAGIExec nor AsyncAGIEnd
    assert isinstance(run.agi_results[-1], AgiChannelGone)


async def test_abandon_is_abandoned_on_hold() -> None:
    [call] = (await play("abandon")).calls()
    assert call.outcome is Outcome.ABANDONED
    assert call.queued_at is not None and call.hangup_by == "caller"
    assert call.agent is None


async def test_agent_noanswer_offer_fails_with_cause_19_and_server_hangs_up_caller() -> None:
    [call] = (await play("agent_noanswer")).calls()
    [offer] = call.offers
    assert offer.result == "no_answer" and offer.cause == 19
    assert call.hangup_by == "server"
    assert call.outcome is Outcome.FAILED


async def test_missing_prompt_ends_in_the_ivr() -> None:
    run = await play("missing_prompt")
    [call] = run.calls()
    assert call.outcome is Outcome.IVR_HANGUP
    assert call.hangup_by == "system"
    stream_file = run.agi_results[1]
    assert stream_file.result == -1 and not stream_file.ok
    # the last AGI was sent after the hang-up: Asterisk answers Response: Error
    assert isinstance(run.agi_results[-1], AgiChannelGone)


async def test_utf8_caller_name_intact() -> None:
    [call] = (await play("utf8_callerid")).calls()
    assert call.caller is not None and call.caller.caller_name == "陈丽华（VIP）"


@pytest.mark.parametrize("split_at", [1, 2, 7])
async def test_utf8_caller_name_intact_when_tcp_cuts_inside_characters(split_at: int) -> None:
    run = await play("utf8_callerid", split_at=split_at)
    [call] = run.calls()
    assert call.caller is not None and call.caller.caller_name == "陈丽华（VIP）"
    names = {e.get("CallerIDName") for e in run.events if e.get("CallerIDName")}
    assert "陈丽华（VIP）" in names and not any("\ufffd" in n for n in names)


async def test_sip_busy_and_unregistered_agents_told_apart_by_cause() -> None:
    [call] = (await play("sip_agent_busy_offline")).calls()
    assert [o.result for o in call.offers] == ["busy", "unavailable"]
    assert call.offers[0].cause == 17 and call.offers[1].agent_channel == ""


async def test_resync_rebuilds_the_same_state_as_the_events() -> None:
    lines = capture("resync")
    cut = next(i for i, line in enumerate(lines)
               if line.direction == "out" and line.frame.startswith("Action: CoreShowChannels"))
    before = lines[:cut]
    from callcenter.server.replay import replay

    from_events = replay(before)
    run = await play("resync")
    items = [e for e in run.events if e.name == "CoreShowChannel"]
    bridges = [e for e in run.events if e.name == "BridgeListItem"]
    assert len(items) == 4 and len(bridges) == 1
    rebuilt = CallTracker()
    rebuilt.rebuild(items, bridges, now=items[0].received_at)

    def projection(tracker: CallTracker) -> list[tuple[Any, ...]]:
        return sorted(
            (c.linkedid, c.caller.channel if c.caller else "", c.caller.caller_number if c.caller else "",
             c.caller.caller_name if c.caller else "", c.state, c.agent.channel if c.agent else "",
             tuple(sorted(leg.channel for leg in c.legs.values())))
            for c in tracker.live_calls())

    assert projection(rebuilt) == projection(from_events)
    [call] = rebuilt.live_calls()
    assert call.state is CallState.TALKING


async def test_resync_merge_ends_calls_asterisk_no_longer_has_and_keeps_event_detail() -> None:
    lines = capture("resync")
    cut = next(i for i, line in enumerate(lines)
               if line.direction == "out" and line.frame.startswith("Action: CoreShowChannels"))
    from callcenter.server.replay import replay

    tracker = replay(lines[:cut])
    [live] = tracker.live_calls()
    run = await play("resync")
    items = [e for e in run.events if e.name == "CoreShowChannel"]
    changed = tracker.rebuild(items, [], now=items[0].received_at)
    assert changed == []  # nothing new: the events already told the whole story
    assert live.digits == "2" and len(live.recordings) == 3

    gone = tracker.rebuild([], [], now=items[0].received_at + 1)
    assert [type(e).__name__ for e in gone] == ["CallEnded"] and gone[0].call_id == live.linkedid
    assert live.state is CallState.ENDED and live.hangup_by == "unknown"
    assert live.outcome is Outcome.ANSWERED
