"""probe"""
from __future__ import annotations
import asyncio, time, json, os
from collections.abc import Iterator
from pathlib import Path
import pytest
from tests.pbx.amiclient import event
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, linkedid_of, through_menus
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig
import tests.pbx.rig as rigmod
rigmod.sentiment_model = lambda work: work / 'no-model'

AGENTS = [Agent("hana", "1061", {"general": 5}), Agent("ivan", "1062", {"refunds": 4})]
NUMBER = "+8613911160001"

@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-consult"), db_url, AGENTS, wrap_up_s=60) as running:
        yield running

async def test_probe(rig: Rig, tmp_path: Path) -> None:
    ami = await rig.ami()
    mode = os.environ.get("PROBE", "cancel")
    try:
        rig.agent_phone("hana", mode="answer", talk_s=120)
        rig.agent_phone("ivan", mode="answer", talk_s=120)
        for a in AGENTS:
            await rig.wait_registered(a.extension)
        await rig.ready("hana")
        since = time.time()
        caller = rig.caller(NUMBER, record=tmp_path / "heard.wav")
        channel = await caller_channel(ami, NUMBER, since)
        await caller.wait_state("CONFIRMED", 10)
        await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
        entered = await ami.wait(event("BridgeEnter", Channel="PJSIP/1061-"), 30, "hana", since)
        hana = entered.get("Channel")
        await asyncio.sleep(1)
        r = await ami.send({"Action": "Setvar", "Channel": hana, "Variable": "_CC_CONSULT_DIAL", "Value": "PJSIP/1062"})
        print("setvar", [f.fields for f in r])
        t0 = time.time()
        r = await ami.send({"Action": "Atxfer", "Channel": hana, "Exten": "12345678", "Context": "cc-consult"})
        print("atxfer", [f.fields for f in r])
        await asyncio.sleep(8)
        print("TRANSFER_CONTEXT", await ami.getvar("TRANSFER_CONTEXT", hana))
        code = {"cancel": "*1", "complete": "*2", "three": "*3"}[mode]
        for d in code:
            r = await ami.send({"Action": "PlayDTMF", "Channel": hana, "Digit": d, "Receive": "true"})
            print("dtmf", [f.fields for f in r])
        await asyncio.sleep(5)
        if mode == "three":
            print(rig.pbx.cli("bridge show all"))
            r = await ami.send({"Action": "Hangup", "Channel": hana})
            await asyncio.sleep(3)
        print(rig.pbx.cli("core show channels"))
        print(rig.pbx.cli("bridge show all"))
        for e in ami.events:
            if e.at >= t0 - 0.5 and e.frame.event not in ("VarSet", "Newexten", "RTCPSent", "RTCPReceived", "DTMFBegin"):
                f = e.frame.fields
                print(e.at - t0, f.get("Event"), f.get("Channel"), f.get("Uniqueid"), f.get("Linkedid"), f.get("BridgeUniqueid", ""), {k: v for k, v in f.items() if k in ("Context","Exten","ChannelStateDesc","Result","DestType","TransfererChannel","TransferTargetChannel","TransfereeChannel","Digit","Direction","Cause","Class","DestChannel","DialStatus","Application","AppData", "IsExternal")})
    finally:
        await ami.close()
        await rig.offline("hana", "ivan")
        rig.stop_phones()
