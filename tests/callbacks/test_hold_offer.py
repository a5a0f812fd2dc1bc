"""The callback offer during the hold, on the shipped flows with a fake AGI link answering with
Asterisk 22's real result strings: hold music in bounded stretches, the offer between two, the
caller's answer, and an agent who becomes free during the offer."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from callcenter.ami.messages import AmiEvent
from callcenter.settings import IvrSettings
from ivr.effects import HeldPlace, RouteRequirements
from ivr.registry import FlowRegistry
from ivr.runner import IvrRunner
from ivr.validate import Checks, load_skills
from tests.ivr.fakes import (
    MOH_DONE,
    Callbacks,
    FakeAgi,
    Orders,
    Recorder,
    Router,
    captured,
    event,
    key,
    settle,
)
from tests.ivr.helpers import MONDAY_10

ROOT = Path(__file__).resolve().parents[2]
START = captured("ivr_route_record", "AsyncAGIStart")
CHANNEL, CALL = START.channel, START.linkedid
TO_GENERAL = [key("1"), key("0")]  # English, then "speak to an agent" (no max_wait)
SEGMENT = "EXEC MusicOnHold default,5"
# the first stretch is queued behind the route prompt: at most half the AGI command timeout
FIRST = f"EXEC MusicOnHold default,{int(IvrSettings().command_timeout_s / 2)}"


class Board:
    """Routing's side of the offer, in memory: ``waits`` answers each ``waiting`` in turn (the
    last one sticks)."""

    def __init__(self, pending: bool = True, waits: tuple[bool, ...] = (True,),
                 due_in: float | None = 5.0) -> None:
        self.offered = {CALL} if pending else set()
        self.waits = list(waits)
        self.due_in = due_in  # until the (next) offer: None, no offer will come
        self.taken: list[tuple[str, str]] = []
        self.declined: list[str] = []

    def pending(self, call_id: str) -> bool:
        return call_id in self.offered

    def offer_in(self, call_id: str) -> float | None:
        return 0.0 if call_id in self.offered else self.due_in

    def offer_after(self, skill: str) -> float | None:
        return self.due_in

    def waiting(self, call_id: str) -> bool:
        return self.waits.pop(0) if len(self.waits) > 1 else self.waits[0]

    def take(self, call_id: str, number: str) -> None:
        self.taken.append((call_id, number))
        self.offered.discard(call_id)

    def decline(self, call_id: str) -> None:
        self.declined.append(call_id)
        self.offered.discard(call_id)


class Line:
    def __init__(self, board: Board) -> None:
        self.agi, self.recorder, self.router, self.board = FakeAgi(), Recorder(), Router(), board
        registry = FlowRegistry([ROOT / "config" / "ivr"],
                                Checks(skills=load_skills(ROOT / "config" / "skills.yaml")))
        registry.reload()
        self.runner = IvrRunner(self.agi, registry, self.recorder, self.router, Orders(), Callbacks(),
                                settings=IvrSettings(sink_timeout_s=2.0), clock=lambda: MONDAY_10,
                                callback_offers=board)
        self.agi.exec_started = self.runner.on_event

    def offers(self) -> list[dict[str, object]]:
        return [dict(e) for e in self.recorder.path.get(CALL, []) if e["kind"] == "callback_offer"]

    async def holding(self, count: int) -> None:
        """Until the ``count``-th stretch of hold music is playing."""
        for _ in range(500):
            if self.agi.commands.count(SEGMENT) >= count and self.agi.commands[-1] == SEGMENT:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"hold music not playing: {self.agi.commands[-4:]}")


async def test_given_offer_due_when_caller_presses_1_and_hash_then_callback_keeps_place_and_hangs_up() -> None:
    line = Line(Board())
    line.agi.keys = [*TO_GENERAL, key("1"), key("")]
    line.agi.moh = [MOH_DONE]
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.board.taken == [(CALL, "13800000001")]
    assert len(line.router.queued) == 1  # queued once: the place is the one it had
    assert line.agi.played()[-4:] == ["en/callback-offer", "en/callback-enter-number",
                                      "en/callback-kept", "goodbye"]
    assert line.agi.commands[-1] == "HANGUP"
    assert line.offers() and line.offers()[0]["outcome"] == "taken"
    assert line.offers()[0]["number"] == "13800000001"


async def test_given_offer_when_caller_keys_another_number_then_that_number_is_kept() -> None:
    line = Line(Board())
    line.agi.keys = [*TO_GENERAL, key("1"), key("12"), key("02150001234")]
    line.agi.moh = [MOH_DONE]
    line.runner.on_event(START)
    await settle(line.runner)
    assert "en/callback-number-invalid" in line.agi.played()
    assert line.board.taken == [(CALL, "02150001234")]


async def test_given_offer_when_caller_presses_2_then_music_resumes_in_the_same_place() -> None:
    line = Line(Board())
    line.agi.keys = [*TO_GENERAL, key("2")]
    line.agi.moh = [MOH_DONE]
    line.runner.on_event(START)
    await line.holding(2)
    assert line.board.declined == [CALL] and line.board.taken == []
    assert line.agi.played()[-1] == "en/callback-offer"
    assert line.offers()[0]["outcome"] == "declined"
    assert len(line.router.queued) == 1
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)
    assert line.recorder.end(CALL) == "bridged"


async def test_given_agent_rung_during_offer_then_callback_not_taken_and_agent_gets_caller() -> None:
    line = Line(Board(waits=(True, False)))  # due; then, once the caller pressed 1, ringing
    line.agi.keys = [*TO_GENERAL, key("1"), key("")]
    line.agi.moh = [MOH_DONE]
    line.runner.on_event(START)
    await line.holding(2)
    assert line.board.taken == [] and line.board.declined == [CALL]
    assert "en/callback-kept" not in line.agi.played()
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)
    assert line.recorder.end(CALL) == "bridged"


async def test_given_no_offer_coming_then_music_plays_without_a_limit_after_the_first_stretch() -> None:
    line = Line(Board(pending=False, due_in=None))
    line.agi.keys = list(TO_GENERAL)
    line.agi.moh = [MOH_DONE]  # the first stretch (queued behind the prompt) ends at its cap
    line.runner.on_event(START)
    for _ in range(500):
        if line.agi.commands[-1:] == ["EXEC MusicOnHold default"]:
            break
        await asyncio.sleep(0)
    holds = [c for c in line.agi.commands if c.startswith("EXEC MusicOnHold")]
    assert holds == [FIRST, "EXEC MusicOnHold default"]  # then as before callbacks existed
    assert line.agi.commands[-1] == "EXEC MusicOnHold default"
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)
    assert "en/callback-offer" not in line.agi.played()
    assert line.recorder.end(CALL) == "bridged"


async def test_given_offer_not_due_yet_then_stretches_end_when_it_is_due() -> None:
    line = Line(Board(pending=False, due_in=12.4))
    line.agi.keys = list(TO_GENERAL)
    line.agi.moh = [MOH_DONE]
    line.runner.on_event(START)
    for _ in range(500):
        if line.agi.commands.count("EXEC MusicOnHold default,13") == 2:
            break
        await asyncio.sleep(0)
    assert line.agi.commands.count("EXEC MusicOnHold default,13") == 2
    assert "en/callback-offer" not in line.agi.played()
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)


async def test_given_offer_due_after_the_first_stretch_cap_then_music_goes_on_until_it_is_due() -> None:
    line = Line(Board(pending=False, due_in=42.4))  # routing's due time: from now, each time asked
    line.agi.keys = list(TO_GENERAL)
    line.agi.moh = [MOH_DONE]
    line.runner.on_event(START)
    for _ in range(500):
        if line.agi.commands[-1:] == ["EXEC MusicOnHold default,43"]:
            break
        await asyncio.sleep(0)
    holds = [c for c in line.agi.commands if c.startswith("EXEC MusicOnHold")]
    assert holds == [FIRST, "EXEC MusicOnHold default,43"]
    assert "en/callback-offer" not in line.agi.played()
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)


async def test_given_max_wait_with_stretches_then_router_asked_back_once_after_max_wait() -> None:
    line = Line(Board(pending=False))
    line.agi.keys = [key("1"), key("4"), key("1"), key("")]  # complaint: max_wait 600 s
    line.agi.moh = [MOH_DONE] * 120
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.agi.commands.count(SEGMENT) == 120
    assert line.router.withdrawn == [CALL]
    assert "en/long-wait-callback" in line.agi.played()
    # what a restarted server holds the caller on with
    queued = next(e for e in line.recorder.path[CALL] if e["kind"] == "queued")
    assert (queued["hold"], queued["max_wait"]) == ("default", 600)


def show_channel(application: str) -> AmiEvent:
    """A ``CoreShowChannel`` item of the caller, as a restarted server sees it."""
    return event("CoreShowChannel", CHANNEL, CALL, Uniqueid=CALL, Context="inbound", Extension="4001",
                 Application=application, ChannelState="6", CallerIDNum="13800000001")


PLACE = HeldPlace(RouteRequirements("general", 1, "en", 0, ()), "to_general")


async def test_given_restart_when_queued_caller_hears_the_last_stretch_then_music_goes_on_until_agent_takes() -> None:
    line = Line(Board(pending=False, due_in=None))
    kept = line.runner.keep_holding([show_channel("MusicOnHold")], lambda start: PLACE)
    assert kept == [CHANNEL]
    await asyncio.sleep(0.01)
    assert line.agi.commands == []  # nothing queued behind the previous process's stretch
    line.runner.on_event(event("AsyncAGIExec", CHANNEL, CALL, CommandId="old-1", Result=MOH_DONE))
    for _ in range(500):
        if line.agi.commands:
            break
        await asyncio.sleep(0)
    # once that stretch ended: on without a limit
    assert line.agi.commands == ["EXEC MusicOnHold default"]
    assert line.router.queued == []  # the router restored the place: not queued twice
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)
    assert line.runner.statistics()["finished"] == {"bridged": 1}


async def test_given_restart_when_queued_callers_offer_comes_due_then_it_is_played_between_stretches() -> None:
    line = Line(Board(pending=False, due_in=5.0))
    line.agi.keys = [key("2")]
    line.agi.moh = [MOH_DONE]
    assert line.runner.keep_holding([show_channel("AGI")], lambda start: PLACE) == [CHANNEL]
    await line.holding(1)
    line.board.offered.add(CALL)  # routing says the offer is due now
    line.agi.moh.append(MOH_DONE)
    await line.holding(2)
    assert line.agi.played() == ["en/callback-offer"]
    assert line.board.declined == [CALL]
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)


async def test_given_restart_when_agent_takes_the_call_during_the_previous_stretch_then_nothing_is_left_queued() -> None:
    line = Line(Board(pending=False, due_in=None))
    assert line.runner.keep_holding([show_channel("MusicOnHold")], lambda start: PLACE) == [CHANNEL]
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    line.runner.on_event(event("AsyncAGIExec", CHANNEL, CALL, CommandId="old-1", Result=MOH_DONE))
    await asyncio.sleep(0.01)
    assert line.agi.commands == []
    assert line.runner.statistics()["active"] == 0


async def test_given_restart_when_channel_has_no_restored_place_or_a_session_then_nothing_is_held() -> None:
    line = Line(Board(pending=False, due_in=None))
    assert line.runner.keep_holding([show_channel("MusicOnHold")], lambda start: None) == []
    assert line.runner.keep_holding([show_channel("Dial")], lambda start: PLACE) == []
    line.runner.on_event(START)
    await asyncio.sleep(0)
    assert line.runner.keep_holding([show_channel("AGI")], lambda start: PLACE) == []
    await line.runner.close()


VIP_PLACE = HeldPlace(RouteRequirements("vip", 3, "en", 9, ("vip",)), "vip_route", "vip-music", 300,
                      MONDAY_10 - timedelta(seconds=120), {"customer.tier": "vip"})


async def _first_hold(line: Line) -> str:
    for _ in range(500):
        if line.agi.commands:
            return line.agi.commands[0]
        await asyncio.sleep(0)
    raise AssertionError("no hold music started")


async def test_given_restart_when_queued_vip_caller_is_held_on_then_the_routes_music_plays_for_what_is_left_of_max_wait() -> None:
    line = Line(Board(pending=False, due_in=None))
    line.agi.moh = [MOH_DONE]
    line.agi.keys = [key("1")]  # the overflow's offer: "1", a callback
    assert line.runner.keep_holding([show_channel("AGI")], lambda start: VIP_PLACE) == [CHANNEL]
    # queued 120 s before the restart, max_wait 300: 180 s left, in the route's own class
    assert await _first_hold(line) == "EXEC MusicOnHold vip-music,180"
    for _ in range(500):
        if line.agi.played():
            break
        await asyncio.sleep(0)
    assert line.router.withdrawn == [CALL]
    # the router gave the call back: the route's overflow, as before the restart
    assert line.agi.played()[0] == "en/long-wait-callback"
    line.runner.on_event(event("Hangup", CHANNEL, CALL))
    await settle(line.runner)
    kinds = [(e["node"], e["kind"]) for e in line.recorder.path[CALL]]
    assert ("vip_route", "hold_ended") in kinds and ("offer_callback", "node") in kinds


async def test_given_restart_when_max_wait_already_passed_then_router_is_asked_back_after_one_second() -> None:
    line = Line(Board(pending=False, due_in=None))
    late = replace(VIP_PLACE, queued_at=MONDAY_10 - timedelta(seconds=400))
    line.router.give_back = False  # an agent is being offered the call: the music goes on
    line.agi.moh = [MOH_DONE]
    assert line.runner.keep_holding([show_channel("AGI")], lambda start: late) == [CHANNEL]
    assert await _first_hold(line) == "EXEC MusicOnHold vip-music,1"
    for _ in range(500):
        if len(line.agi.commands) > 1:
            break
        await asyncio.sleep(0)
    assert line.router.withdrawn == [CALL]
    assert line.agi.commands[1:] == ["EXEC MusicOnHold vip-music"]
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)
    assert line.runner.statistics()["finished"] == {"bridged": 1}
