"""Bad input and faults on the real PBX: a caller pressing keys all through the prompts, an
agent's phone that answers and hangs up at once, a PBX answering slowly (the AMI link delayed),
and an Originate that Asterisk refuses (the server's AMI user lacks the ``originate`` class).
Each call ends with the right outcome and nothing is left live: no call row open, no agent on a
call, no channel in Asterisk, ``/healthz`` 200."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.polling import wait_until
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, linkedid_of, press_at
from tests.pbx.overlay import OverlaySpec
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig
from tests.pbx.test_scenarios import Call, offers

AGENTS = [Agent("ann", "1031", {"general": 5}), Agent("ben", "1032", {"general": 3})]


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-bad-input"), db_url, AGENTS,
                     ring_timeout_s=6) as running:
        yield running


async def agent_ids(rig: Rig) -> dict[str, int]:
    conn = await rig.db()
    try:
        return {r["login"]: r["id"] for r in await conn.fetch("SELECT id, login FROM agents")}
    finally:
        await conn.close()


async def assert_nothing_live(rig: Rig, *logins: str) -> None:
    """No call row open, no agent on a call or an offer, no channel left in Asterisk, and
    the server healthy."""
    await rig.deployment.wait_healthy(10)

    async def open_rows() -> int:
        conn = await rig.db()
        try:
            return int(await conn.fetchval("SELECT count(*) FROM calls WHERE state <> 'ended'"))
        finally:
            await conn.close()

    await wait_until(open_rows, lambda n: n == 0, "every call row ended", timeout_s=15)
    await wait_until(lambda: rig.pbx.cli("core show channels count"),
                     lambda out: "0 active channels" in out, "no channel left in Asterisk", timeout_s=15)
    for login in logins:
        def read(login: str = login) -> Awaitable[dict[str, Any]]:
            return rig.agent_state(login)

        await wait_until(read, lambda s: s["state"] not in ("offered", "talking") and s["call_id"] is None,
                         f"{login} off every call", timeout_s=15)


async def survey_or_hang_up(call: Call) -> None:
    """The caller stays until the survey starts (the agent hung up), then hangs up."""
    await call.ami.wait(lambda e: e.frame.event == "AsyncAGIStart" and e.get("Channel") == call.channel
                        and e.get("Context") == "survey", 40, "the survey on the caller", call.since)
    await call.hang_up()


async def test_caller_pressing_keys_through_every_prompt_still_reaches_an_agent(rig: Rig) -> None:
    """Keys during the greeting, ``*``/``#`` and a burst of digits at each menu: the IVR takes
    them as invalid input (or none), falls back to the general line, and the call is answered."""
    ami = await rig.ami()
    try:
        ben = rig.agent_phone("ben", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=3)
        await rig.wait_registered("1032")
        await rig.ready("ben")
        call = Call(rig, ami, "+8613911170001")
        call.channel = await caller_channel(ami, call.number, call.since)
        call.linkedid = await linkedid_of(ami, call.channel)
        await press_at(ami, call.phone, call.channel, "choose-language", "*#*#9", call.since)
        await press_at(ami, call.phone, call.channel, "welcome", "#*#*", call.since)
        await press_at(ami, call.phone, call.channel, "main-menu", "*#", call.since)
        await ben.wait_state("CONFIRMED", 60)
        await survey_or_hang_up(call)
        row = await rig.call_row(call.linkedid)
        assert row["outcome"] == "answered" and row["agent_id"] == (await agent_ids(rig))["ben"], row
        path = json.loads(row["ivr_path"]) if isinstance(row["ivr_path"], str) else row["ivr_path"]
        assert any(step.get("digits") in ("*", "#") or step.get("outcome") == "invalid" for step in path), path
        rig.capture("hostile_dtmf", call.since)
        await assert_nothing_live(rig, "ben")
    finally:
        await ami.close()
        await rig.offline("ann", "ben")
        rig.stop_phones()


async def test_agent_phone_answering_and_hanging_up_at_once_leaves_no_one_stuck(rig: Rig) -> None:
    """Ann's phone picks up and drops the call in the same instant: the call is not lost (it
    goes on to the survey after her, or to Ben if she was gone before the bridge) and Ann is
    not left on it."""
    ami = await rig.ami()
    try:
        ann = rig.agent_phone("ann", mode="ring")
        ben = rig.agent_phone("ben", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=3)
        for extension in ("1031", "1032"):
            await rig.wait_registered(extension)
        await rig.ready("ann", "ben")
        call = await Call(rig, ami, "+8613911170002").dial("general")
        await ann.wait_state("EARLY", 30)
        ann.answer()
        ann.hangup()
        await ann.wait_state("DISCONNECTED", 10)
        await survey_or_hang_up(call)
        row = await rig.call_row(call.linkedid)
        ids = await agent_ids(rig)
        tried = offers(row)
        assert tried[0]["dial_string"] == "PJSIP/1031", tried
        assert row["outcome"] == "answered", row
        if row["agent_id"] == ids["ann"]:  # bridged before her hang-up: a (very short) answered call
            assert row["agent_channel"].startswith("PJSIP/1031-") and ben.count("EARLY") == 0, row
        else:  # gone before the bridge: the offer failed and Ben took the call
            assert row["agent_id"] == ids["ben"] and tried[-1]["dial_string"] == "PJSIP/1032", (row, tried)
        rig.capture("agent_answers_and_hangs_up", call.since)
        await assert_nothing_live(rig, "ann", "ben")
    finally:
        await ami.close()
        await rig.offline("ann", "ben")
        rig.stop_phones()


async def test_slow_pbx_still_routes_and_ends_the_call(rig: Rig) -> None:
    """Every AMI frame takes 0.4 s each way between Asterisk and the server (0.8 s a round
    trip, well under the link's 5 s ping timeout): the IVR, the offer, the bridge and the end of
    the call all still happen, only later."""
    ami = await rig.ami()
    try:
        ben = rig.agent_phone("ben", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=3)
        await rig.wait_registered("1032")
        await rig.ready("ben")
        rig.recorder.delay_s = 0.4
        call = await Call(rig, ami, "+8613911170003").dial("general")
        await ben.wait_state("CONFIRMED", 60)
        await survey_or_hang_up(call)
        row = await rig.call_row(call.linkedid)
        assert row["outcome"] == "answered" and row["agent_id"] == (await agent_ids(rig))["ben"], row
        assert row["queued_at"] is not None and row["answered_at"] is not None, row
        rig.recorder.delay_s = 0.0
        await assert_nothing_live(rig, "ben")
    finally:
        rig.recorder.delay_s = 0.0
        await ami.close()
        await rig.offline("ann", "ben")
        rig.stop_phones()


REFUSING = [Agent("cat", "1033", {"general": 5})]


async def test_originate_refused_by_asterisk_ends_as_an_abandon_with_the_agent_free(
        bundle: Bundle, new_database: Callable[[], str], tmp_path: Path) -> None:
    """A deployer left ``originate`` out of the AMI user's write classes: Asterisk answers every
    Originate with "Permission denied". The caller waits on hold (Cat's phone never rings),
    the refused offer is stored, and when the caller gives up the call is an abandon, Cat is
    not left on an offer and nothing stays live."""
    spec = OverlaySpec(ami_write="system,call,agi")
    # its own database: one server holds the call-control role per database
    with running_rig(bundle, tmp_path, new_database(), REFUSING, spec=spec, ring_timeout_s=6) as refusing:
        ami = await refusing.ami()
        try:
            cat = refusing.agent_phone("cat", mode="answer")
            await refusing.wait_registered("1033")
            await refusing.ready("cat")
            call = await Call(refusing, ami, "+8613911170004").dial("general")
            await call.hold()
            denied = await wait_until(lambda: _refused_originates(refusing, call.since), what="a refused Originate",
                                      timeout_s=20)
            assert "Permission denied" in denied[0], denied
            await call.hang_up()
            row = await refusing.call_row(call.linkedid)
            assert row["outcome"] == "abandoned" and row["agent_id"] is None, row
            assert cat.count("EARLY") == 0 and cat.count("CONFIRMED") == 0
            tried = offers(row)
            assert tried and tried[0]["dial_string"] == "PJSIP/1033", tried
            assert all(o["result"] not in ("answered", "ringing", "") for o in tried), tried
            await assert_nothing_live(refusing, "cat")
        finally:
            await ami.close()
            await refusing.offline("cat")
            refusing.stop_phones()


def _refused_originates(rig: Rig, since: float) -> list[str]:
    """Asterisk's error answers to the server's Originate actions since ``since``."""
    sent = {f.frame.split("ActionID: ", 1)[1].split("\r\n", 1)[0] for f in rig.recorder.snapshot(since)
            if f.direction == "out" and f.frame.startswith("Action: Originate") and "ActionID: " in f.frame}
    return [f.frame for f in rig.recorder.snapshot(since) if f.direction == "in"
            and f.frame.startswith("Response: Error")
            and any(f"ActionID: {action_id}\r\n" in f.frame for action_id in sent)]
