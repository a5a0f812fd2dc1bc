"""A caller hanging up in the instant a consult begins, through the PBX simulator (real AMI
over TCP, the real IVR, router, tracker and PostgreSQL): rex consults sue, whose phone only
rings, and the caller hangs up at once after the consult request returns (sue's leg exists), or
while the simulator still takes the Atxfer (rex held, no Local pair yet). Per channel, the
simulator reports what the real PBX did in the same flows (``tests/pbx/test_consult_race.py``
recorded ``call_control_consult_caller_left_{at_once,in_atxfer}.jsonl``), and the server leaves
nothing live: every channel hung up, no consult open, rex wrapping up, sue ready at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callcenter.agents.model import AgentState
from callcenter.ami.messages import AmiEvent
from callcenter.control.plan import Refused, Verb
from callcenter.web.api_control import CONTROL
from tests.control.test_consult_through_simulator import (
    BRIDGE_COUNT,
    POLICY,
    SPEED,
    WAIT,
    captured,
    hang_up,
    held_caller,
    signatures,
    then,
    transfers,
)
from tests.routing.sim_harness import EN_CUSTOMERS, Harness, agent_entry, caller, phone, running

pytestmark = pytest.mark.integration


# capture -> the race the real PBX ran that a run need not repeat (what is not compared then:
# the number of channels left in a bridge a channel leaves)
RACES = {
    "caller_left_at_once": "Asterisk fails the transfer and tears the consult down while the "
                           "server hangs up rex's leg: whether rex or the Local pair leaves the "
                           "consult bridge last depends on which runs first (both orders are "
                           "in real captures: this one and ringing_caller_left)",
}

# capture -> why the extension's digits the Atxfer plays into the agent's channel after the
# hold are not compared (the events around them are)
DIGIT_RACES = {
    "caller_left_in_atxfer": "the digits follow each other 46 ms apart; how many come before "
                             "the server's Hangup of the agent (the caller left as the agent "
                             "was held) depends on how fast the server reacts",
}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


@dataclass
class Talking:
    h: Harness
    seen: list[dict[str, str]]
    call_id: str
    control: Any
    hooks: list[Callable[[AmiEvent], None]]


@asynccontextmanager
async def talking(tmp_path: Path, db_url: str) -> AsyncIterator[Talking]:
    """A caller talking to rex; sue ready, her phone ringing whenever rung (never answering)."""
    agents = [agent_entry("rex", "1003", {"refunds": 4}), agent_entry("sue", "1004", {"returns": 4})]
    async with running(tmp_path, db_url, policy=POLICY, agents=agents, speed=SPEED,
                       phones=[phone("1003", hangup_after_s=600.0),
                               phone("1004", never_answers=True)]) as h:
        seen: list[dict[str, str]] = []
        hooks: list[Callable[[AmiEvent], None]] = []

        def record(event: AmiEvent) -> None:
            seen.append(dict(event.fields))
            for hook in hooks:
                hook(event)

        h.server.ami.subscribe(record)
        h.call(caller(EN_CUSTOMERS[0], survey=None))
        await h.wait_for(lambda: h.state("rex") is AgentState.TALKING, WAIT, "rex talking")
        [enqueued] = h.probe.enqueued()
        call_id = enqueued.call.call_id
        await h.wait_for(lambda: h.server.console.agent_on_call(call_id) == "rex", WAIT, "answered")
        await h.sleep(5.0)
        yield Talking(h, seen, call_id, h.server.http.app[CONTROL], hooks)


def channel_signatures(events: list[dict[str, str]], prefix: str, after: str = "",
                       until: str = "") -> list[str]:
    """:func:`signatures` of the first channel named ``prefix…``, none if there is none."""
    if not any(e.get("Channel", "").startswith(prefix) for e in events):
        return []
    return signatures(events, prefix, after, until)


def assert_as_captured(seen: list[dict[str, str]], capture: str) -> None:
    """Per channel, the real PBX's events (accepted differences aside, and the capture's race
    in :data:`RACES`): sue's and the Local pair's (none, when the caller left before Asterisk
    made them), rex's from the hold, the caller's from the music on; and the transfers
    Asterisk reported."""
    real = captured(capture)

    def same(ours: list[str], theirs: list[str], what: str) -> None:
        if capture in RACES:
            ours, theirs = [BRIDGE_COUNT.sub("", x) for x in ours], [BRIDGE_COUNT.sub("", x) for x in theirs]
        if capture in DIGIT_RACES:
            ours = [x for x in ours if not x.startswith("DTMFEnd")]
            theirs = [x for x in theirs if not x.startswith("DTMFEnd")]
        assert ours == theirs, what

    for ours, theirs in (("PJSIP/1004-", "PJSIP/1072-"), ("Local/", "Local/")):
        same(channel_signatures(seen, ours), channel_signatures(real, theirs), ours)
    two = [e["Channel"] for e in seen if e.get("Channel", "").endswith(";2")]
    real_two = [e["Channel"] for e in real if e.get("Channel", "").endswith(";2")]
    assert bool(two) == bool(real_two)
    if two:
        same(channel_signatures(seen, two[0]), channel_signatures(real, real_two[0]), two[0])
    same(channel_signatures(seen, "PJSIP/1003-", "Hold"),
         channel_signatures(real, "PJSIP/1071-", "Hold"), "rex")
    same(channel_signatures(seen, held_caller(seen), "MusicOnHoldStart"),
         channel_signatures(real, held_caller(real), "MusicOnHoldStart"), "the caller")
    assert transfers(seen) == transfers(real)


async def nothing_left(t: Talking) -> tuple[list[Any], dict[str, list[AgentState]]]:
    """Every channel gone, the call stored; the stored rows and both agents' states."""
    await t.h.wait_for(lambda: not t.h.simulator.pbx.channels, WAIT, "every leg hung up")
    rows = await t.h.finish(WAIT)
    assert t.control.consults.consult(t.call_id) is None
    assert t.control.consults.statistics()["consults"] == 0
    states = {agent: [x.state for x in t.h.probe.states(agent)] for agent in ("rex", "sue")}
    return rows, states


async def test_a_caller_hanging_up_as_the_consult_request_returns_leaves_nothing_live(
        fresh_db: str, tmp_path: Path) -> None:
    async with talking(tmp_path, fresh_db) as t:
        state = await t.control.act("rex", t.call_id, Verb.CONSULT, to_agent="sue")
        hang_up(t.h.simulator.pbx, held_caller(t.seen), remote=True)
        assert state["consult"]["to"] == "sue" and state["consult"]["answered"] is False, state
        rows, states = await nothing_left(t)
    assert_as_captured(t.seen, "caller_left_at_once")
    assert transfers(t.seen) == ["Fail"]  # Asterisk fails the transfer: no blind one
    assert [(r["linkedid"], r["outcome"], r["hangup_by"]) for r in rows] == [
        (t.call_id, "answered", "caller")]
    assert then(states["rex"], AgentState.TALKING) is AgentState.WRAP_UP, states
    assert then(states["sue"], AgentState.PAUSED) is AgentState.READY, states  # only rang


async def test_a_caller_hanging_up_while_the_atxfer_is_taken_is_refused_at_once_and_leaves_nothing_live(
        fresh_db: str, tmp_path: Path) -> None:
    async with talking(tmp_path, fresh_db) as t:
        def leave_on_hold(event: AmiEvent) -> None:
            consult = t.h.simulator.pbx.consults.consult_of(event.channel)
            if event.name == "Hold" and consult is not None:
                t.hooks.clear()  # the caller's BYE as rex is held, before the Local pair exists
                hang_up(t.h.simulator.pbx, consult.caller.name, remote=True)

        t.hooks.append(leave_on_hold)
        with pytest.raises(Refused) as refused:
            await t.control.act("rex", t.call_id, Verb.CONSULT, to_agent="sue")
        assert (refused.value.status, refused.value.error_id) == (409, "call_ended")
        rows, states = await nothing_left(t)
    assert_as_captured(t.seen, "caller_left_in_atxfer")
    assert not [e for e in t.seen if e.get("Channel", "").startswith(("Local/", "PJSIP/1004-"))]
    assert [(r["linkedid"], r["outcome"], r["hangup_by"]) for r in rows] == [
        (t.call_id, "answered", "caller")]
    assert then(states["rex"], AgentState.TALKING) is AgentState.WRAP_UP, states
    assert then(states["sue"], AgentState.PAUSED) is AgentState.READY, states
