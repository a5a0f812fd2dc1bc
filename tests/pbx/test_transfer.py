"""Blind transfer to a skill queue from the agent's console, on the real PBX with SIP phones:
a caller routed to hana (general) → hana transfers to refunds with a note (AMI BlindTransfer of
her channel: the caller goes to [cc-transfer] and back into AsyncAGI) → the server routes the
call to refunds with the call's IVR context and the ``transferred`` tag → ivan's phone rings,
his screen-pop says hana transferred it with her note, he answers and hangs up; hana is in
wrap-up. Bad targets are refused and leave the call as it was. A transfer to an outside number
(the warehouse of config/external_numbers.yaml) dials it through the carrier, where a pjsua
phone answers and is bridged with the caller; a number that is busy, or a carrier that does not
answer its qualify (chan_pjsip then refuses the Dial), brings the caller back to routing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.pbx.amiclient import event
from tests.pbx.bundle import Bundle
from tests.pbx.carrier import CARRIER_PORT, carrier_reachable, carrier_unreachable, customer_phone
from tests.pbx.ivrcaller import caller_channel, linkedid_of, through_menus
from tests.pbx.overlay import OverlaySpec
from tests.pbx.phones import did_uri
from tests.pbx.rig import Agent, Rig, running_rig
from tests.pbx.transfers import answered_by_hana, control, pops_of, refused, wait_for

AGENTS = [Agent("hana", "1051", {"general": 5}), Agent("ivan", "1052", {"refunds": 4}),
          Agent("jude", "1053", {"refunds": 5})]
NUMBER = "+8613911150001"


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-transfer"), db_url, AGENTS,
                     spec=OverlaySpec(carrier_port=CARRIER_PORT), wrap_up_s=60) as running:
        yield running


async def test_blind_transfer_to_a_skill_reaches_the_next_agent_with_the_note(
        rig: Rig, tmp_path: Path) -> None:
    ami = await rig.ami()
    hana_web, ivan_web = await rig.web("hana"), await rig.web("ivan")
    ivan_said: list[dict[str, Any]] = []
    ivan_ws = await pops_of(rig, ivan_web, ivan_said)
    try:
        rig.agent_phone("hana", mode="answer", talk_s=120)
        rig.agent_phone("ivan", mode="answer", talk_s=120)
        for agent in AGENTS[:2]:
            await rig.wait_registered(agent.extension)
        await rig.ready("hana", "ivan")
        since = time.time()
        caller = rig.caller(NUMBER, record=tmp_path / "caller-heard.wav")
        channel = await caller_channel(ami, NUMBER, since)
        call_id = await linkedid_of(ami, channel)
        await caller.wait_state("CONFIRMED", 10)
        await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
        await ami.wait(event("BridgeEnter", Channel="PJSIP/1051-"), 30, "hana bridged", since)
        await asyncio.sleep(1.0)

        # bad targets: refused, the call stays with hana
        assert await refused(hana_web, call_id, {"action": "transfer", "skill": "nope"}) == (
            404, "unknown_skill")
        assert await refused(hana_web, call_id, {"action": "transfer"}) == (400, "bad_target")
        assert await refused(ivan_web, call_id, {"action": "transfer", "skill": "refunds"}) == (
            404, "not_found")
        assert (await rig.agent_state("hana"))["state"] == "talking"

        clicked = time.time()
        status, body = await control(hana_web, call_id, {"action": "transfer", "skill": "refunds",
                                                         "note": "wants a refund for order 1042"})
        assert status == 200 and body["ended"] is True, body
        transfer = await ami.wait(event("BlindTransfer", TransfererChannel="PJSIP/1051-"), 5,
                                  "BlindTransfer", clicked)
        assert transfer.get("Context") == "cc-transfer" and transfer.get("Result") == "Success"
        await ami.wait(event("AsyncAGIStart", Channel=channel.split(";")[0]), 10,
                       "the caller back in AGI", clicked)
        # a second click after the transfer: the call is no longer hana's
        assert (await refused(hana_web, call_id, {"action": "transfer", "skill": "refunds"}))[0] \
            in (404, 409)
        await ami.wait(event("BridgeEnter", Channel="PJSIP/1052-"), 30, "ivan bridged", clicked)

        pop = await wait_for(ivan_said, "pop", 5)
        assert pop["call_id"] == call_id, pop
        assert pop["ivr"]["transfer"] == {"by": "hana", "note": "wants a refund for order 1042",
                                          "skill": "refunds"}, pop["ivr"]
        assert pop["ivr"]["language"] == "en"
        assert (await rig.agent_state("hana"))["state"] == "wrap_up"
        assert (await rig.agent_state("ivan"))["state"] == "talking"

        await asyncio.sleep(2.0)
        status, body = await control(ivan_web, call_id, {"action": "hangup"})
        assert status == 200, body
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["outcome"] == "answered" and row["hangup_by"] == "agent", row
        assert row["transfers"] == 1, row
        # each agent's part of the call: hana's leg ended by her transfer, ivan's by his hang-up
        async with hana_web.session.get(f"{hana_web.base}/api/calls/{row['id']}") as response:
            assert response.status == 200  # hana took part: she still sees the call
            detail = await response.json()
        legs = detail["legs"]
        assert [(leg["agent"], leg["ended_how"], leg["transferred_to"], leg["note"])
                for leg in legs] == [("hana", "transfer", "refunds", "wants a refund for order 1042"),
                                     ("ivan", "hangup", None, None)], legs
        assert legs[0]["ended_at"] <= legs[1]["talk_started_at"], legs
        assert legs[0]["talk_s"] > 0.5 and legs[1]["talk_s"] > 1.5, legs
        db = await rig.db()
        try:
            recordings = await db.fetch("SELECT kind FROM recordings WHERE call_id = $1", row["id"])
        finally:
            await db.close()
        assert sorted(r["kind"] for r in recordings) == ["agent", "customer", "mixed"]
        rig.capture("call_control_blind_transfer", since)
    finally:
        await ivan_ws.close()
        await hana_web.close()
        await ivan_web.close()
        await ami.close()
        await rig.offline("hana", "ivan", "jude")
        rig.stop_phones()


async def test_blind_transfer_to_a_ready_colleague_goes_to_them_not_to_the_best_of_the_skill(
        rig: Rig, tmp_path: Path) -> None:
    """jude has the better refunds level, yet hana's transfer to ivan reaches ivan; a transfer
    to a colleague who is not ready is refused and the call stays with hana."""
    ami = await rig.ami()
    hana_web, ivan_web = await rig.web("hana"), await rig.web("ivan")
    try:
        rig.agent_phone("hana", mode="answer", talk_s=120)
        rig.agent_phone("ivan", mode="answer", talk_s=120)
        rig.agent_phone("jude", mode="answer", talk_s=120)
        for agent in AGENTS:
            await rig.wait_registered(agent.extension)
        await rig.ready("hana")
        since = time.time()
        caller = rig.caller("+8613911150002", record=tmp_path / "heard.wav")
        channel = await caller_channel(ami, "+8613911150002", since)
        call_id = await linkedid_of(ami, channel)
        await caller.wait_state("CONFIRMED", 10)
        await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
        await ami.wait(event("BridgeEnter", Channel="PJSIP/1051-"), 30, "hana bridged", since)
        assert await refused(hana_web, call_id, {"action": "transfer", "agent": "ivan"}) == (
            409, "agent_not_ready")  # ivan is offline
        await rig.ready("jude")  # jude: the better level, and idle longer
        await asyncio.sleep(1.0)
        await rig.ready("ivan")
        clicked = time.time()
        status, body = await control(hana_web, call_id, {"action": "transfer", "agent": "ivan",
                                                         "note": "ivan knows this order"})
        assert status == 200, body
        bridged = await ami.wait(lambda seen: seen.frame.event == "BridgeEnter" and (
            seen.get("Channel").startswith(("PJSIP/1052-", "PJSIP/1053-"))), 30, "bridged", clicked)
        assert bridged.get("Channel").startswith("PJSIP/1052-"), bridged.get("Channel")
        assert (await rig.agent_state("jude"))["state"] == "ready"
        await control(ivan_web, call_id, {"action": "hangup"})
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["transfers"] == 1, row
    finally:
        await hana_web.close()
        await ivan_web.close()
        await ami.close()
        await rig.offline("hana", "ivan", "jude")
        rig.stop_phones()


async def test_blind_transfer_from_the_softphone_sip_refer_is_followed(rig: Rig, tmp_path: Path) -> None:
    """hana transfers from her SIP phone (pjsua's ``x``: REFER to ``refunds``): Asterisk sends
    the caller to [cc-transfer] (the offer's TRANSFER_CONTEXT), the server follows the
    BlindTransfer event as from the console, and jude (refunds) gets the call."""
    ami = await rig.ami()
    jude_web = await rig.web("jude")
    jude_said: list[dict[str, Any]] = []
    jude_ws = await pops_of(rig, jude_web, jude_said)
    try:
        hana = rig.agent_phone("hana", mode="answer", talk_s=120)
        rig.agent_phone("jude", mode="answer", talk_s=120)
        for agent in (AGENTS[0], AGENTS[2]):
            await rig.wait_registered(agent.extension)
        await rig.ready("hana", "jude")
        since = time.time()
        caller = rig.caller("+8613911150003", record=tmp_path / "heard.wav")
        channel = await caller_channel(ami, "+8613911150003", since)
        call_id = await linkedid_of(ami, channel)
        await caller.wait_state("CONFIRMED", 10)
        await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
        await ami.wait(event("BridgeEnter", Channel="PJSIP/1051-"), 30, "hana bridged", since)
        await asyncio.sleep(1.0)
        referred = time.time()
        hana.send(f"x\n{did_uri('refunds', rig.pbx.spec.sip_port)}\n")
        transfer = await ami.wait(event("BlindTransfer", TransfererChannel="PJSIP/1051-"), 10,
                                  "BlindTransfer from the phone", referred)
        assert (transfer.get("Context"), transfer.get("Extension")) == ("cc-transfer", "refunds")
        await ami.wait(event("BridgeEnter", Channel="PJSIP/1053-"), 30, "jude bridged", referred)
        assert (await rig.agent_state("hana"))["state"] == "wrap_up"
        pop = await wait_for(jude_said, "pop", 5)
        # the next agent's pop names who transferred from their phone (no note from a phone)
        assert pop["ivr"]["transfer"]["by"] == "hana", pop["ivr"]
        await asyncio.sleep(1.0)
        status, body = await control(jude_web, call_id, {"action": "hangup"})
        assert status == 200, body
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["transfers"] == 1, row
        async with jude_web.session.get(f"{jude_web.base}/api/calls/{row['id']}") as response:
            legs = (await response.json())["legs"]
        assert [(leg["agent"], leg["ended_how"], leg["transferred_to"]) for leg in legs] == [
            ("hana", "transfer", "refunds"), ("jude", "hangup", None)], legs
        rig.capture("call_control_refer_transfer", since)
    finally:
        await jude_ws.close()
        await jude_web.close()
        await ami.close()
        await rig.offline("hana", "ivan", "jude")
        rig.stop_phones()


async def test_blind_transfer_to_an_outside_number_bridges_the_caller_with_it(
        rig: Rig, tmp_path: Path) -> None:
    """hana sends the caller to the warehouse (a directory code): BlindTransfer into
    [cc-external], the caller's channel dials the number through the carrier, the phone there
    answers and shares a bridge with the caller; hana's leg ends as a transfer to the masked
    number, the carrier leg is the call's external party, the call is answered, not abandoned.
    A number outside the directory and its patterns is refused and nothing is dialled."""
    ami = await rig.ami()
    hana_web = await rig.web("hana")
    try:
        warehouse = customer_phone(rig, "200", talk_s=6)
        rig.agent_phone("hana", mode="answer", talk_s=120)
        await rig.wait_registered("1051")
        await carrier_reachable(ami, warehouse)
        await rig.ready("hana")
        since = time.time()
        channel, call_id = await answered_by_hana(rig, ami, "+8613911150004", tmp_path)
        await asyncio.sleep(1.0)
        assert await refused(hana_web, call_id, {"action": "transfer", "number": "+8619012345678"}) \
            == (400, "number_not_allowed")
        assert await refused(hana_web, call_id, {"action": "transfer", "number": "warehouse",
                                                 "skill": "refunds"}) == (400, "bad_target")
        assert (await rig.agent_state("hana"))["state"] == "talking"
        assert not ami.find(event("BlindTransfer"), since)

        clicked = time.time()
        status, body = await control(hana_web, call_id, {"action": "transfer", "number": "warehouse",
                                                         "note": "parcel damaged"})
        assert status == 200 and body["ended"] is True, body
        transfer = await ami.wait(event("BlindTransfer", TransfererChannel="PJSIP/1051-"), 5,
                                  "BlindTransfer", clicked)
        assert (transfer.get("Context"), transfer.get("Extension")) == ("cc-external", "+861055500100")
        dial = await ami.wait(event("DialBegin", Channel=channel, DestChannel="PJSIP/carrier-"), 10,
                              "the caller dials the warehouse", clicked, story_of=channel)
        outside = dial.get("DestChannel")
        # the carrier leg sends the center's number (its connected line: the From of its INVITE);
        # the caller's own channel keeps the caller's
        assert (dial.get("CallerIDNum"), dial.get("DestConnectedLineNum")) == ("+8613911150004", "4001")
        caller_in = await ami.wait(event("BridgeEnter", Channel=channel), 20, "caller bridged", clicked)
        outside_in = await ami.wait(event("BridgeEnter", Channel=outside), 20, "outside bridged",
                                    clicked)
        assert caller_in.get("BridgeUniqueid") == outside_in.get("BridgeUniqueid")
        assert (await rig.agent_state("hana"))["state"] == "wrap_up"
        # the warehouse hangs up after its talk_s: the caller's Dial returns, the call ends
        await ami.wait(event("Hangup", Channel=outside), 30, "the warehouse hangs up", clicked)
        # the warehouse's phone saw the center's number (its call dump names the remote party)
        await warehouse.wait(r"\[CONFIRMED\] To: <sip:4001@", 10)
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["outcome"] == "answered" and row["transfers"] == 1, row
        assert row["caller_number"] == "+8613911150004", row["caller_number"]
        async with hana_web.session.get(f"{hana_web.base}/api/calls/{row['id']}") as response:
            legs = (await response.json())["legs"]
        assert [(leg["agent"], leg["ended_how"], leg["transferred_to"], leg["note"])
                for leg in legs] == [("hana", "transfer", "external:+********0100",
                                      "parcel damaged")], legs
        db = await rig.db()
        try:
            external = await db.fetch(
                "SELECT l.channel, l.answered_at, l.dial_status, l.transferred_to FROM call_legs l"
                " JOIN calls c ON c.id = l.call_id WHERE c.linkedid = $1 AND l.role = 'external'",
                call_id)
            events = await db.fetchval("SELECT count(*) FROM call_legs l JOIN calls c"
                                       " ON c.id = l.call_id WHERE c.linkedid = $1"
                                       " AND l.transferred_to LIKE '%861055500100%'", call_id)
        finally:
            await db.close()
        assert [(r["channel"], r["dial_status"], r["transferred_to"]) for r in external] == [
            (outside, "ANSWER", "external:+********0100")], external
        assert external[0]["answered_at"] is not None and events == 0
        rig.capture("call_control_external_transfer", since)
        warehouse.stop()
    finally:
        await hana_web.close()
        await ami.close()
        await rig.offline("hana", "ivan", "jude")
        rig.stop_phones()


async def test_an_outside_number_that_is_busy_sends_the_caller_back_to_routing(
        rig: Rig, tmp_path: Path) -> None:
    """The warehouse's line is busy (486): the caller hears sorry and is back in AsyncAGI in
    [cc-transfer], routed to the call's own skill (general) with the transfer's facts."""
    ami = await rig.ami()
    hana_web = await rig.web("hana")
    try:
        courier = customer_phone(rig, "486")
        rig.agent_phone("hana", mode="answer", talk_s=120)
        await rig.wait_registered("1051")
        await carrier_reachable(ami, courier)
        await rig.ready("hana")
        channel, call_id = await answered_by_hana(rig, ami, "+8613911150005", tmp_path)
        await asyncio.sleep(1.0)
        clicked = time.time()
        status, body = await control(hana_web, call_id, {"action": "transfer", "number": "courier"})
        assert status == 200, body
        end = await ami.wait(event("DialEnd", Channel=channel, DestChannel="PJSIP/carrier-"), 20,
                             "the courier's line answers busy", clicked, story_of=channel)
        assert end.get("DialStatus") == "BUSY"
        back = await ami.wait(event("AsyncAGIStart", Channel=channel), 20, "back in AGI", clicked)
        assert back.get("Context") == "cc-transfer"
        # back in routing as the caller (the pop, the callback's default number), not the center
        assert back.get("CallerIDNum") == "+8613911150005"
        assert "agi_callerid: +8613911150005" in unquote(back.get("Env")), back.get("Env")
        await ami.wait(event("MusicOnHoldStart", Channel=channel), 20, "waiting again", clicked)
        await ami.send({"Action": "Hangup", "Channel": channel, "Cause": "16"})
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["outcome"] == "answered" and row["transfers"] == 1, row
        assert row["caller_number"] == "+8613911150005", row["caller_number"]
    finally:
        await hana_web.close()
        await ami.close()
        await rig.offline("hana", "ivan", "jude")
        rig.stop_phones()


async def test_an_outside_number_the_carrier_cannot_reach_sends_the_caller_back_to_routing(
        rig: Rig, tmp_path: Path) -> None:
    """The carrier's contact is Unreachable (its OPTIONS go unanswered): chan_pjsip refuses the
    channel, so the caller's Dial never begins (CHANUNAVAIL); the caller hears sorry and is
    back in AsyncAGI in [cc-transfer], waiting for the call's own skill as the caller. hana's
    leg is her transfer to the masked number, no outside leg is stored, the call is answered."""
    ami = await rig.ami()
    hana_web = await rig.web("hana")
    try:
        rig.agent_phone("hana", mode="answer", talk_s=120)
        await rig.wait_registered("1051")
        await carrier_unreachable(ami)
        await rig.ready("hana")
        channel, call_id = await answered_by_hana(rig, ami, "+8613911150006", tmp_path)
        await asyncio.sleep(1.0)
        clicked = time.time()
        status, body = await control(hana_web, call_id, {"action": "transfer", "number": "warehouse",
                                                         "note": "parcel lost"})
        assert status == 200 and body["ended"] is True, body
        sorry = await ami.wait(event("Newexten", Channel=channel, Context="cc-external",
                                     Application="Playback"), 20, "sorry", clicked, story_of=channel)
        assert sorry.get("AppData") == "sorry"
        back = await ami.wait(event("AsyncAGIStart", Channel=channel), 20, "back in AGI", clicked,
                              story_of=channel)
        assert (back.get("Context"), back.get("CallerIDNum")) == ("cc-transfer", "+8613911150006")
        assert not ami.find(event("DialBegin", Channel=channel), clicked), ami.story(channel, clicked)
        assert await ami.getvar("DIALSTATUS", channel) == "CHANUNAVAIL"
        await ami.wait(event("MusicOnHoldStart", Channel=channel), 20, "waiting again", clicked)
        await ami.send({"Action": "Hangup", "Channel": channel, "Cause": "16"})
        row = await rig.call_row(call_id, timeout_s=60)
        assert (row["outcome"], row["transfers"], row["caller_number"]) == (
            "answered", 1, "+8613911150006"), row
        async with hana_web.session.get(f"{hana_web.base}/api/calls/{row['id']}") as response:
            legs = (await response.json())["legs"]
        assert [(leg["agent"], leg["ended_how"], leg["transferred_to"], leg["note"])
                for leg in legs] == [("hana", "transfer", "external:+********0100", "parcel lost")], legs
        db = await rig.db()
        try:
            external = await db.fetch("SELECT l.channel FROM call_legs l JOIN calls c ON c.id = l.call_id"
                                      " WHERE c.linkedid = $1 AND l.role = 'external'", call_id)
        finally:
            await db.close()
        assert external == [], external
    finally:
        await hana_web.close()
        await ami.close()
        await rig.offline("hana", "ivan", "jude")
        rig.stop_phones()
