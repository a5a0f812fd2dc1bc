"""Consult transfer, cancel and three-way conference through the PBX simulator (real AMI over
TCP, the real IVR, router, tracker and PostgreSQL): rex consults sue, the simulator runs the
attended transfer (Atxfer into [cc-consult], the features codes played as received digits) and
reports it as Asterisk 22 does: per channel of the consult (the colleague's, the Local pair's,
the agent's from the hold, the caller's from the music) the same events as the real PBX's
(``tests/data/pbx-captures/call_control_consult_*.jsonl``), but for the differences
``tests/pbx/fidelity.py`` accepts. Also the caller hanging up mid-consult (the fourth capture)
and the colleague hanging up (the caller is back with the agent); the consult's music is the
call's one hold."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from callcenter.agents.model import AgentState
from callcenter.ami.messages import AmiEvent
from callcenter.control.plan import Refused, Verb
from callcenter.simulator.pbx import Pbx
from callcenter.web.api_control import CONTROL
from tests.pbx.fidelity import ACCEPTED, ACCEPTED_FIELDS
from tests.routing.sim_harness import EN_CUSTOMERS, Harness, agent_entry, caller, phone, running
from tests.simulator.lab import KEY_FIELDS

pytestmark = pytest.mark.integration

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "pbx-captures"
POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 3},
          "skills": {"refunds": {"steps": [{"after_s": 0, "min_level": 1}]},
                     "returns": {"steps": [{"after_s": 0, "min_level": 1}]}}}
EXTEN = re.compile(r"\b\d{8}\b")  # [cc-consult]'s extension: a random one per consult
# capture -> the race the real PBX ran that a run need not repeat (what is not compared then:
# the number of channels left in a bridge a channel leaves)
RACES = {
    "caller_left": "the server hangs up both agents' legs at once when the caller hangs up "
                   "mid-consult; which of the two Hangup actions Asterisk runs first decides "
                   "whether the Local pair or the transferer leaves the consult bridge last",
}
BRIDGE_COUNT = re.compile(r" BridgeNumChannels=\d+")
WAIT = 300.0  # simulated seconds: bounds, not delays
# simulated time runs this much faster: slow enough that the server's latencies on a loaded
# machine do not push the caller's menu presses out of their prompts
SPEED = 8.0
# the course of a channel: what it enters, leaves and how it ends (connected-line, caller-ID
# and variable updates depend on the phones and Asterisk's modules, see tests/pbx/fidelity.py)
COURSE = ("Newchannel", "Newstate", "BridgeEnter", "BridgeLeave", "Hold", "Unhold",
          "MusicOnHoldStart", "MusicOnHoldStop", "Hangup")
FLOWS = {"complete": ("completed", Verb.COMPLETE), "cancel": ("cancelled", Verb.CANCEL),
         "conference": ("conference", Verb.CONFERENCE)}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


def course(events: list[dict[str, str]], prefix: str, after: str = "") -> list[str]:
    """The course of the first channel named ``prefix…`` (from its last event ``after`` on)."""
    names = [e.get("Channel", "") for e in events if e.get("Channel", "").startswith(prefix)]
    if not names:
        return []
    mine = [e for e in events if e.get("Channel") == names[0]]
    if after:
        mine = mine[max(i for i, e in enumerate(mine) if e.get("Event") == after):]
    return [f"{e['Event']} {e.get('Cause', '')}".strip() for e in mine if e.get("Event") in COURSE]


def signatures(events: list[dict[str, str]], prefix: str, after: str = "",
               until: str = "") -> list[str]:
    """Every event of the first channel named ``prefix…`` (from the last ``after`` on, up to
    the next ``until``) with its key fields, but for the differences accepted in
    :data:`tests.pbx.fidelity.ACCEPTED`; the consult's random extension (in fields and as the
    digits Atxfer plays after the features code) and the bridges (numbered as they appear)
    normalised."""
    names = [e.get("Channel", "") for e in events if e.get("Channel", "").startswith(prefix)]
    assert names, f"no channel {prefix}…"
    mine = [e for e in events if e.get("Channel") == names[0] and e["Event"] not in ACCEPTED]
    if after:
        mine = mine[max(i for i, e in enumerate(mine) if e["Event"] == after):]
    if until:
        mine = mine[:next(i for i, e in enumerate(mine) if e["Event"] == until) + 1]
    bridges: dict[str, str] = {}
    out, dialing = [], False
    for e in mine:
        fields = {k: EXTEN.sub("N", e[k]) for k in KEY_FIELDS if k in e and k not in ACCEPTED_FIELDS}
        dialing = (dialing or e["Event"] == "Hold") and not e["Event"].startswith("Bridge")
        if dialing and e["Event"] == "DTMFEnd":
            fields["Digit"] = "N"
        parts = [e["Event"], *(f"{k}={v}" for k, v in fields.items())]
        if "BridgeUniqueid" in e:
            parts.append(bridges.setdefault(e["BridgeUniqueid"], f"bridge#{len(bridges) + 1}"))
        out.append(" ".join(parts))
    return out


def captured(name: str) -> list[dict[str, str]]:
    out = []
    for line in (CAPTURES / f"call_control_consult_{name}.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        fields = dict(x.split(": ", 1) for x in record["frame"].split("\r\n") if ": " in x)
        if record["dir"] == "in" and "Event" in fields:
            out.append(fields)
    return out


def hang_up(pbx: Pbx, prefix: str, remote: bool = False) -> None:
    """Hang up the live channel named ``prefix…``: its phone (``remote``), or the server as the
    console's hang-up does (AMI Hangup)."""
    [ch] = [ch for name, ch in pbx.channels.items() if name.startswith(prefix) and ch.alive]
    if remote:
        pbx.hangups.remote_hangup(ch)
    else:
        pbx.hangups.hangup_action(ch, 16)


def held_caller(events: list[dict[str, str]]) -> str:
    """The channel whose music starts as the transferer is put on hold (the transferee)."""
    held = next(i for i, e in enumerate(events) if e.get("Event") == "Hold")
    return next(e["Channel"] for e in events[held:] if e.get("Event") == "MusicOnHoldStart")


def transfers(events: list[dict[str, str]]) -> list[str]:
    return [e.get("DestType", "") for e in events if e.get("Event") == "AttendedTransfer"]


def caller_leaving(events: list[dict[str, str]]) -> list[str]:
    """Across channels, from the caller's last ``BridgeLeave`` on: that ``BridgeLeave``, any
    ``AttendedTransfer``, the destruction of the bridge it left and the caller's ``Hangup``, in
    the order reported (the per-channel comparisons cannot see this order)."""
    caller = held_caller(events)
    left = max(i for i, e in enumerate(events)
               if e.get("Event") == "BridgeLeave" and e.get("Channel") == caller)
    home = events[left]["BridgeUniqueid"]
    out = []
    for e in events[left:]:
        event = e.get("Event", "")
        if event in ("BridgeLeave", "Hangup") and e.get("Channel") == caller:
            out.append(f"{event} caller")
        elif event == "AttendedTransfer":
            out.append(f"AttendedTransfer {e.get('Result', '')}")
        elif event == "BridgeDestroy" and e.get("BridgeUniqueid") == home:
            out.append("BridgeDestroy caller's bridge")
    return out


@dataclass
class Consulting:
    h: Harness
    seen: list[dict[str, str]]
    call_id: str
    control: Any


@asynccontextmanager
async def consulting(tmp_path: Path, db_url: str, sue_answers: bool = True
                     ) -> AsyncIterator[Consulting]:
    """A caller talking to rex, who consults sue; yields once sue has answered (or, if she
    never answers, once her phone rings)."""
    agents = [agent_entry("rex", "1003", {"refunds": 4}), agent_entry("sue", "1004", {"returns": 4})]
    sue = (phone("1004", answer_after_s=0.0, hangup_after_s=600.0) if sue_answers  # pjsua 200
           else phone("1004", never_answers=True))  # pjsua --auto-answer 180
    async with running(tmp_path, db_url, policy=POLICY, agents=agents, speed=SPEED,
                       phones=[phone("1003", hangup_after_s=600.0), sue]) as h:
        seen: list[dict[str, str]] = []

        def record(event: AmiEvent) -> None:
            seen.append(dict(event.fields))

        h.server.ami.subscribe(record)
        h.call(caller(EN_CUSTOMERS[0], survey=None))
        await h.wait_for(lambda: h.state("rex") is AgentState.TALKING, WAIT, "rex talking")
        [enqueued] = h.probe.enqueued()
        call_id = enqueued.call.call_id
        control = h.server.http.app[CONTROL]
        await h.wait_for(lambda: h.server.console.agent_on_call(call_id) == "rex", WAIT, "answered")
        await h.sleep(5.0)
        state = await control.act("rex", call_id, Verb.CONSULT, to_agent="sue")
        assert state["consult"]["to"] == "sue", state
        awaited = "BridgeEnter" if sue_answers else "Newchannel"
        await h.wait_for(lambda: any(e.get("Event") == awaited
                                     and e.get("Channel", "").startswith("PJSIP/1004-") for e in seen),
                         WAIT, "sue answered the consult" if sue_answers else "sue's phone rings")
        music = [e["Event"] for e in seen if e.get("Channel") == held_caller(seen)
                 and e["Event"].startswith("MusicOnHold")]
        assert music[-1] == "MusicOnHoldStart"  # the caller holds
        await h.sleep(4.0)
        yield Consulting(h, seen, call_id, control)


def assert_as_captured(seen: list[dict[str, str]], capture: str) -> None:
    """Per channel of the consult, the same events as the real PBX's (accepted differences
    aside, and the capture's races in :data:`RACES`): sue's and the Local pair's from their
    start, rex's from the hold, the caller's from the music on."""
    real = captured(capture)

    def same(ours: list[str], theirs: list[str], what: str) -> None:
        if capture in RACES:
            ours, theirs = [BRIDGE_COUNT.sub("", x) for x in ours], [BRIDGE_COUNT.sub("", x) for x in theirs]
        assert ours == theirs, what

    for ours, theirs in (("PJSIP/1004-", "PJSIP/1072-"), ("Local/", "Local/")):
        same(signatures(seen, ours), signatures(real, theirs), ours)
    two = next(e["Channel"] for e in seen if e.get("Channel", "").endswith(";2"))
    real_two = next(e["Channel"] for e in real if e.get("Channel", "").endswith(";2"))
    same(signatures(seen, two), signatures(real, real_two), two)
    same(signatures(seen, "PJSIP/1003-", "Hold"), signatures(real, "PJSIP/1071-", "Hold"), "rex")
    assert (signatures(seen, held_caller(seen), "MusicOnHoldStart", "BridgeLeave")
            == signatures(real, held_caller(real), "MusicOnHoldStart", "BridgeLeave"))
    assert transfers(seen) == transfers(real)


@pytest.mark.parametrize("flow", sorted(FLOWS))
async def test_consult_then_complete_cancel_or_conference_through_the_simulator(
        flow: str, fresh_db: str, tmp_path: Path) -> None:
    capture, verb = FLOWS[flow]
    async with consulting(tmp_path, fresh_db) as c:
        done = await c.control.act("rex", c.call_id, verb)
        assert done["consult"] == ({"to": "sue", "stage": "conference", "since": ANY, "answered": True}
                                   if flow == "conference" else None), done
        if flow == "cancel":
            await c.h.wait_for(lambda: course(c.seen, "PJSIP/1004-")[-1:] == ["Hangup 16"], WAIT,
                               "sue's leg ended")
            assert c.h.state("rex") is AgentState.TALKING
            await c.h.sleep(2.0)
            await c.control.act("rex", c.call_id, Verb.HANGUP)
        elif flow == "conference":
            await c.h.sleep(4.0)
            await c.control.act("rex", c.call_id, Verb.HANGUP)  # rex leaves, caller and sue talk on
            await c.h.sleep(2.0)
            assert c.h.server.tracker.live_calls()
            hang_up(c.h.simulator.pbx, "PJSIP/1004-")
        else:
            await c.h.sleep(4.0)
            hang_up(c.h.simulator.pbx, "PJSIP/1004-")
        await c.h.wait_for(lambda: not c.h.server.tracker.live_calls(), WAIT, "the call ended")
        rows = await c.h.finish(WAIT)
        hold = await c.h.server.database.pool.fetchrow(
            "SELECT hold_s, hold_count FROM calls WHERE linkedid = $1", c.call_id)
    assert_as_captured(c.seen, capture)
    assert [r["linkedid"] for r in rows] == [c.call_id]
    # the caller's music from the consult's start to its end (4 simulated seconds of talk with
    # sue after she answered, and the dialling before) is one hold
    assert hold["hold_count"] == 1 and 4.0 <= hold["hold_s"] <= 30.0, dict(hold)


async def test_caller_hanging_up_mid_consult_ends_both_legs_as_on_the_real_pbx(
        fresh_db: str, tmp_path: Path) -> None:
    async with consulting(tmp_path, fresh_db) as c:
        hang_up(c.h.simulator.pbx, held_caller(c.seen), remote=True)
        await c.h.wait_for(lambda: not c.h.simulator.pbx.channels, WAIT, "every leg hung up")
        rows = await c.h.finish(WAIT)
        states = {agent: [x.state for x in c.h.probe.states(agent)] for agent in ("rex", "sue")}
    assert_as_captured(c.seen, "caller_left")
    assert [(r["linkedid"], r["hangup_by"]) for r in rows] == [(c.call_id, "caller")]
    # both talked on the call: both wrap up
    assert then(states["rex"], AgentState.TALKING) is AgentState.WRAP_UP, states
    assert then(states["sue"], AgentState.PAUSED) is AgentState.WRAP_UP, states


async def test_while_the_colleagues_phone_rings_complete_is_409_and_a_caller_leaving_stops_it(
        fresh_db: str, tmp_path: Path) -> None:
    async with consulting(tmp_path, fresh_db, sue_answers=False) as c:
        for verb in (Verb.COMPLETE, Verb.CONFERENCE):
            with pytest.raises(Refused) as refused:
                await c.control.act("rex", c.call_id, verb)
            assert (refused.value.status, refused.value.error_id) == (409, "colleague_ringing")
        assert c.control.state(c.call_id)["consult"]["answered"] is False
        hang_up(c.h.simulator.pbx, held_caller(c.seen), remote=True)
        await c.h.wait_for(lambda: not c.h.simulator.pbx.channels, WAIT, "every leg hung up")
        rows = await c.h.finish(WAIT)
        states = {agent: [x.state for x in c.h.probe.states(agent)] for agent in ("rex", "sue")}
    assert_as_captured(c.seen, "ringing_caller_left")
    assert transfers(c.seen) == ["Fail"]  # Asterisk fails the transfer: no blind one
    # the transfer fails and the caller's bridge goes before the caller's Hangup
    assert caller_leaving(c.seen) == caller_leaving(captured("ringing_caller_left")) == [
        "BridgeLeave caller", "AttendedTransfer Fail", "BridgeDestroy caller's bridge",
        "Hangup caller"], caller_leaving(c.seen)
    assert [(r["linkedid"], r["hangup_by"]) for r in rows] == [(c.call_id, "caller")]
    assert then(states["rex"], AgentState.TALKING) is AgentState.WRAP_UP, states
    assert then(states["sue"], AgentState.PAUSED) is AgentState.READY, states  # no wrap-up


def then(states: list[AgentState], state: AgentState) -> AgentState | None:
    """The state that followed the last ``state`` (None: none did)."""
    last = max(i for i, s in enumerate(states) if s is state)
    return states[last + 1] if last + 1 < len(states) else None


async def test_colleague_hanging_up_mid_consult_gives_the_caller_back(
        fresh_db: str, tmp_path: Path) -> None:
    async with consulting(tmp_path, fresh_db) as c:
        hang_up(c.h.simulator.pbx, "PJSIP/1004-", remote=True)
        await c.h.wait_for(lambda: c.control.state(c.call_id)["consult"] is None, WAIT,
                           "the consult ended")
        rex = course(c.seen, "PJSIP/1003-", "Hold")
        assert rex == ["Hold", "BridgeLeave", "BridgeEnter", "BridgeLeave", "BridgeEnter", "Unhold"], rex
        assert course(c.seen, held_caller(c.seen), "MusicOnHoldStart") == [
            "MusicOnHoldStart", "MusicOnHoldStop"]
        assert c.h.state("rex") is AgentState.TALKING
        await c.control.act("rex", c.call_id, Verb.HANGUP)
        rows = await c.h.finish(WAIT)
    assert [(r["linkedid"], r["hangup_by"]) for r in rows] == [(c.call_id, "agent")]
