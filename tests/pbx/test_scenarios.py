"""Call flows on the real PBX with SIP phones: abandon on hold, ring-no-answer re-offered,
busy and unregistered agents told apart, a phone dying mid-shift, the post-call survey and the
payment pause. One Asterisk, one server for the module; each test has its own agents (skills)
and leaves them offline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pbx.amiclient import TestAmi, event
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, linkedid_of, on_channel, press_at, through_menus
from tests.pbx.phones import Phone
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, quiet_span, running_rig, wav_rms

RING_TIMEOUT_S = 6
AGENTS = [
    Agent("nora", "1011", {"returns": 5}), Agent("yann", "1012", {"returns": 3}),        # no answer
    Agent("bea", "1013", {"delivery": 5}), Agent("carl", "1014", {"delivery": 3}),       # busy
    Agent("uma", "1015", {"complaints": 5}), Agent("vic", "1016", {"complaints": 4}),    # offline phone
    Agent("dana", "1017", {"delivery": 5}), Agent("eli", "1018", {"delivery": 3}),       # phone dies
    Agent("sue", "1019", {"general": 5}),                                                  # survey, pause
]
LANGUAGE = ("choose-language", "1")
MENUS = {"returns": [LANGUAGE, ("main-menu", "2"), ("returns-menu", "1")],
         "refunds": [LANGUAGE, ("main-menu", "2"), ("returns-menu", "2")],
         "delivery": [LANGUAGE, ("main-menu", "3"), ("delivery-menu", "1")],
         "complaints": [LANGUAGE, ("main-menu", "4")],
         "general": [LANGUAGE, ("main-menu", "0")]}


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-scenarios"), db_url, AGENTS,
                     ring_timeout_s=RING_TIMEOUT_S) as running:
        yield running


class Call:
    """A caller on the carrier side, followed on the test's AMI link."""

    def __init__(self, rig: Rig, ami: TestAmi, number: str, **phone: Any) -> None:
        self.rig, self.ami, self.number = rig, ami, number
        self.since = time.time()
        self.phone: Phone = rig.caller(number, **phone)
        self.channel = ""
        self.linkedid = ""

    async def dial(self, skill: str) -> Call:
        self.channel = await caller_channel(self.ami, self.number, self.since)
        self.linkedid = await linkedid_of(self.ami, self.channel)
        await through_menus(self.ami, self.phone, self.channel, MENUS[skill], self.since)
        return self

    async def hold(self, timeout_s: float = 20.0) -> None:
        """Until the caller hears hold music (queued)."""
        await self.ami.wait(on_channel("AGIExecStart", self.channel, "MusicOnHold"),
                            timeout_s, f"hold music on {self.channel}", self.since)

    async def hang_up(self) -> None:
        self.phone.hangup()
        await self.phone.wait_state("DISCONNECTED", 10)


async def offline_after(rig: Rig, *logins: str) -> None:
    await rig.offline(*logins)
    rig.stop_phones()


def offers(row: dict[str, Any]) -> list[dict[str, Any]]:
    value = row["offers"]
    return list(json.loads(value) if isinstance(value, str) else value)


async def test_caller_abandons_on_hold(rig: Rig) -> None:
    ami = await rig.ami()
    try:
        call = await Call(rig, ami, "+8613911120001").dial("refunds")  # nobody takes refunds
        await call.hold()
        await asyncio.sleep(2.0)
        await call.hang_up()
        row = await rig.call_row(call.linkedid)
        assert row["outcome"] == "abandoned" and row["agent_id"] is None, row
        assert row["queued_at"] is not None, "calls.queued_at empty for a call that waited on hold"
        stats = await (await rig.web("supervisor")).get("/api/routing/stats")
        assert stats["waiting"] == 0 and stats["abandoned"] >= 1, stats
        rig.capture("abandon_on_hold", call.since)
    finally:
        await ami.close()
        await offline_after(rig)


async def _offer_fails_then_next_agent(rig: Rig, ami: TestAmi, number: str, skill: str,
                                       first: str, second: str) -> dict[str, Any]:
    """A call for ``skill``: offered to ``first`` (higher level) first, then to ``second``, who
    answers and hangs up after a few seconds. Returns the stored call."""
    taker = rig.agent_phone(second, mode="answer", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=4)
    call = await Call(rig, ami, number).dial(skill)
    await taker.wait_state("CONFIRMED", RING_TIMEOUT_S * 2 + 20)
    await taker.wait_state("DISCONNECTED", 20)
    await call.hang_up()
    row = await rig.call_row(call.linkedid)
    assert row["outcome"] == "answered", row
    conn = await rig.db()
    try:
        ids = {r["login"]: r["id"] for r in await conn.fetch("SELECT id, login FROM agents")}
    finally:
        await conn.close()
    assert row["agent_id"] == ids[second], row
    tried = [o["dial_string"] for o in offers(row)]
    assert tried[0] == f"PJSIP/{rig.agents[first].extension}", offers(row)
    assert tried[-1] == f"PJSIP/{rig.agents[second].extension}", offers(row)
    return row


async def test_ring_no_answer_busy_and_unregistered_agents_each_reoffered(rig: Rig) -> None:
    """Three calls at once. Nora's phone rings and is never answered; Bea's answers 486 Busy;
    Uma has no phone registered. Each call goes to the next agent. Busy and unregistered give
    the same OriginateResponse Reason (0), so the server must tell them apart by the hang-up
    cause (17 busy) and by the missing channel."""
    ami = await rig.ami()
    try:
        nora = rig.agent_phone("nora", mode="never")
        bea = rig.agent_phone("bea", mode="busy")
        for extension in ("1011", "1013"):
            await rig.wait_registered(extension)
        await rig.ready("nora", "yann", "bea", "carl", "uma", "vic")
        no_answer, busy, unregistered = await asyncio.gather(
            _offer_fails_then_next_agent(rig, ami, "+8613911130001", "returns", "nora", "yann"),
            _offer_fails_then_next_agent(rig, ami, "+8613911130002", "delivery", "bea", "carl"),
            _offer_fails_then_next_agent(rig, ami, "+8613911130003", "complaints", "uma", "vic"))
        assert nora.count("EARLY") == 1 and nora.count("CONFIRMED") == 0
        assert offers(no_answer)[0]["result"] == "no_answer", offers(no_answer)
        assert offers(busy)[0]["result"] == "busy" and offers(busy)[0]["cause"] == 17, offers(busy)
        assert bea.count("CONFIRMED") == 0
        assert offers(unregistered)[0]["result"] == "unavailable", offers(unregistered)
        states = {login: await rig.agent_state(login) for login in ("nora", "bea", "uma")}
        assert states["nora"]["state"] == "paused" and states["nora"]["reason"] == "missed", states
        assert states["bea"]["state"] == "paused" and states["bea"]["reason"] == "phone_busy", states
        assert states["uma"]["state"] != "talking" and states["uma"]["call_id"] is None, states
        rig.capture("offers_noanswer_busy_unregistered", no_answer["arrived_at"].timestamp() - 1)
    finally:
        await ami.close()
        await offline_after(rig, "nora", "yann", "bea", "carl", "uma", "vic")


async def test_phone_dying_mid_shift_stops_getting_offers(rig: Rig) -> None:
    """Dana's phone is unplugged (killed, no un-registration) while she is ready: Asterisk's
    qualify marks the contact Unreachable, and her calls go to Eli from then on."""
    ami = await rig.ami()
    try:
        dana = rig.agent_phone("dana", mode="answer")
        await rig.wait_registered("1017")
        await rig.ready("dana", "eli")
        since = time.time()
        dana.kill()
        await ami.wait(event("ContactStatus", AOR="1017", ContactStatus="Unreachable"), 40,
                       "ContactStatus Unreachable for 1017", since)
        await asyncio.sleep(0.5)
        state = await rig.agent_state("dana")
        assert state["reachable"] is False, state
        eli = rig.agent_phone("eli", mode="answer", talk_s=3)
        await rig.wait_registered("1018")
        call = await Call(rig, ami, "+8613911140001").dial("delivery")
        await eli.wait_state("DISCONNECTED", 30)
        await call.hang_up()
        row = await rig.call_row(call.linkedid)
        assert row["outcome"] == "answered"
        assert [o["dial_string"] for o in offers(row)] == ["PJSIP/1018"], offers(row)
    finally:
        await ami.close()
        await offline_after(rig, "dana", "eli")


async def _survey_after_agent(rig: Rig, number: str, answer_after_s: float | None, capture: str) -> None:
    ami = await rig.ami()
    try:
        sue = rig.agent_phone("sue", mode="ring" if answer_after_s else "answer",
                              play=LAB_RECORDINGS / "agent-greet.wav", talk_s=4)
        await rig.wait_registered("1019")
        await rig.ready("sue")
        call = await Call(rig, ami, number).dial("general")
        if answer_after_s:
            await sue.wait_state("EARLY", 30)
            await asyncio.sleep(answer_after_s)
            sue.answer()
        await sue.wait_state("DISCONNECTED", 30)
        await press_at(ami, call.phone, call.channel, "survey-question", "4", call.since)
        await call.phone.wait_state("DISCONNECTED", 20)  # the survey thanks and hangs up
        row = await rig.call_row(call.linkedid)
        assert row["outcome"] == "answered" and row["csat"] == 4, row
        rig.capture(capture, call.since)
        warnings = rig.pbx.log.read_text(errors="replace")
        assert "Unrecognized option" not in warnings, "Asterisk refused part of the Bridge data"
    finally:
        await ami.close()
        await offline_after(rig, "sue")


async def test_post_call_survey_after_the_agent_hangs_up(rig: Rig) -> None:
    await _survey_after_agent(rig, "+8613911150001", answer_after_s=1.0, capture="survey_after_agent")


async def test_post_call_survey_when_the_agent_answered_at_once(rig: Rig) -> None:
    """An agent's phone that answers the instant it rings bridges the caller out of AsyncAGI
    before the IVR's hold-music command has run; that command must not be left queued on the
    channel, or it runs when the survey starts and the caller hears hold music, not the survey."""
    await _survey_after_agent(rig, "+8613911150002", answer_after_s=None,
                              capture="survey_after_agent_answered_at_once")


async def test_payment_pause_leaves_silence_in_the_recording(rig: Rig) -> None:
    """The agent pauses the recording while the caller reads card data, then resumes: the
    customer's file keeps its length and holds silence for the paused span only."""
    ami = await rig.ami()
    web = await rig.web("sue")
    try:
        # sue hangs up when the test says so: a slow pause or resume cannot outlast her call
        sue = rig.agent_phone("sue", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav")
        await rig.wait_registered("1019")
        await rig.ready("sue")
        call = await Call(rig, ami, "+8613911160001",
                          play=LAB_RECORDINGS / "customer-refund.wav").dial("general")
        await sue.wait_state("CONFIRMED", 30)
        await asyncio.sleep(4.0)
        row = await rig.call_row(call.linkedid, ended=False)
        await web.post(f"/api/calls/{row['id']}/recording/pause")
        muted = await ami.wait(event("MixMonitorMute", State="1"), 5, "MixMonitorMute on", call.since)
        await asyncio.sleep(4.0)
        await web.post(f"/api/calls/{row['id']}/recording/resume")
        unmuted = await ami.wait(event("MixMonitorMute", State="0"), 5, "MixMonitorMute off", call.since)
        await asyncio.sleep(4.0)  # the caller talks on after the resume
        assert sue.count("DISCONNECTED") == 0, "the call ended during the pause"
        sue.hangup()
        await sue.wait_state("DISCONNECTED", 10)
        agent_gone = await ami.wait(lambda e: e.frame.event == "Hangup"
                                    and e.get("Channel").startswith("PJSIP/1019-"), 10, "agent hang-up",
                                    call.since)
        await call.hang_up()
        stored = await rig.call_row(call.linkedid)
        pauses = stored["recording_pauses"]
        assert json.loads(pauses) if isinstance(pauses, str) else pauses, stored
        conn = await rig.db()
        try:
            deadline = time.monotonic() + 30
            while True:
                customer = await conn.fetchrow(
                    "SELECT * FROM recordings WHERE call_id = $1 AND kind = 'customer'", stored["id"])
                if customer is not None and customer["status"] == "final":
                    break
                assert time.monotonic() < deadline, customer and dict(customer)
                await asyncio.sleep(0.3)
        finally:
            await conn.close()
        # the file ends when the agent's leg ends; it is as long as the bridge lasted. The pause
        # is the file's one long silence (the caller's recording loops with gaps of 0.4 s at
        # most): as long as Asterisk said it muted, about where the events put it (they are
        # timed as the test read them), with speech on both sides
        start = agent_gone.at - customer["duration_s"]
        mute_from, mute_to = muted.at - start, unmuted.at - start
        rig.capture("payment_pause", call.since)
        path = Path(customer["path"])
        quiet_from, quiet_to = quiet_span(path)
        spans = {"muted": (round(mute_from, 2), round(mute_to, 2)), "silent": (round(quiet_from, 2), round(quiet_to, 2))}
        print("payment pause, seconds into the customer's file:", spans)
        assert mute_to - mute_from > 3.0, spans
        # the silence may run on into the recording's own gaps (0.4 s at most each side) but not
        # fall short of the pause by more than the events' read times can differ
        assert -0.6 < (quiet_to - quiet_from) - (mute_to - mute_from) < 1.0, f"not silent for the pause: {spans}"
        assert abs(quiet_from - mute_from) < 1.5, f"the silence is not where the pause was: {spans}"
        assert wav_rms(path, 0.5, quiet_from - 0.3) > 200, f"no speech before the pause: {spans}"
        assert wav_rms(path, quiet_to + 0.3, customer["duration_s"] - 0.3) > 200, f"none after it: {spans}"
    finally:
        await web.close()
        await ami.close()
        await offline_after(rig, "sue")
