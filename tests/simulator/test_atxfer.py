"""Attended transfer in the simulator, driven over AMI by the product's client: the AMI checks
of ``Atxfer`` and ``PlayDTMF``, a consult whose colleague's phone is busy, unregistered, not
named, or does not answer (the transferer is back with the caller each time), a cancel while
the colleague's phone rings, and a digit played out of a channel (``Receive`` not set). The
answered flows are compared with the real captures in ``tests/control``."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.ami.errors import AmiActionFailed
from callcenter.ami.messages import Action
from callcenter.simulator import AgentScript, Behaviour, CallerScript, Scenario
from tests.simulator.lab import make_sounds
from tests.simulator.support import CallControl, Lab, running

AGENTS = (AgentScript("1001", behaviour=Behaviour(hangup_after_s=300.0)),
          AgentScript("1002", behaviour=Behaviour(busy=True)),
          AgentScript("1003", registered=False),
          AgentScript("1004", behaviour=Behaviour(never_answers=True)),
          AgentScript("1005", behaviour=Behaviour(answer_after_s=0.0, hangup_after_s=300.0)))
SCENARIO = Scenario((CallerScript("13800000001", "Alice Chen", behaviour=Behaviour(hangup_after_s=300.0)),),
                    AGENTS)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sounds(tmp_path_factory.mktemp("sounds"))


def atxfer(channel: str, exten: str = "12345678", context: str = "cc-consult") -> Action:
    return Action("Atxfer", (("Channel", channel), ("Exten", exten), ("Context", context)))


def play(channel: str, digit: str, receive: bool = True) -> Action:
    return Action("PlayDTMF", (("Channel", channel), ("Digit", digit),
                               ("Receive", "true" if receive else "false")))


def setvar(channel: str, name: str, value: str) -> Action:
    return Action("Setvar", (("Channel", channel), ("Variable", name), ("Value", value)))


async def talking(lab: Lab) -> tuple[str, str]:
    """A caller bridged to the agent on PJSIP/1001: (caller's channel, agent's channel)."""
    CallControl(lab, record=False).start()
    caller = lab.sim.place_call(SCENARIO.callers[0])
    entered = await lab.events.wait(lambda e: e.name == "BridgeEnter" and e.get("BridgeNumChannels") == "2")
    return caller, entered.channel


def course(lab: Lab, prefix: str, since: int = 0) -> list[str]:
    names = ("Hold", "Unhold", "BridgeEnter", "BridgeLeave", "MusicOnHoldStart", "MusicOnHoldStop",
             "Hangup", "DialEnd")
    return [f"{e.name} {e.get('DialStatus') or e.get('Cause')}".strip() for e in lab.events.items[since:]
            if e.name in names and (e.channel.startswith(prefix) or e.get("DestChannel").startswith(prefix))]


async def test_atxfer_and_playdtmf_refuse_bad_input(tmp_path: Path, sounds: Path) -> None:
    async with running(tmp_path, sounds, SCENARIO, 20) as lab:
        for action, message in (
                (Action("Atxfer", (("Exten", "1"),)), "No channel specified"),
                (Action("Atxfer", (("Channel", "PJSIP/1001-1"),)), "No extension specified"),
                (atxfer("PJSIP/1001-1", "12;3"), "Invalid extension"),
                (atxfer("PJSIP/nobody-00000001"), "Channel specified does not exist"),
                (Action("PlayDTMF", (("Digit", "1"),)), "Channel not specified"),
                (Action("PlayDTMF", (("Channel", "PJSIP/1001-1"),)), "No digit specified"),
                (play("PJSIP/nobody-00000001", "1"), "Channel not found")):
            with pytest.raises(AmiActionFailed, match=message):
                await lab.client.send(action)


@pytest.mark.parametrize(("dial", "status"), [("PJSIP/1002", "BUSY"), ("PJSIP/1003", ""),
                                              ("", ""), ("PJSIP/1004", "NOANSWER")])
async def test_a_consult_nobody_answers_gives_the_caller_back(
        dial: str, status: str, tmp_path: Path, sounds: Path) -> None:
    async with running(tmp_path, sounds, SCENARIO, 20) as lab:
        caller, agent = await talking(lab)
        mark = len(lab.events.items)
        if dial:
            await lab.client.send(setvar(agent, "_CC_CONSULT_DIAL", dial))
        await lab.client.send(setvar(agent, "_CC_CONSULT_RING", "3"))
        await lab.client.send(atxfer(agent))
        await lab.events.wait(lambda e: e.name == "Unhold", since=mark, timeout=30)
        assert course(lab, agent, mark) == ["Hold", *["BridgeLeave", "BridgeEnter"] * 2, "Unhold"]
        assert course(lab, caller, mark) == ["MusicOnHoldStart", "MusicOnHoldStop"]
        rung = [x for x in course(lab, dial + "-", mark) if x.startswith("DialEnd")] if dial else []
        assert rung == ([f"DialEnd {status}"] if status else [])
        two = [e for e in lab.events.items[mark:] if e.channel.endswith(";2") and e.name == "Hangup"]
        assert len(two) == 1 and not lab.sim.pbx.consults.consult_of(agent)
        assert {ch for ch in lab.sim.pbx.channels} == {caller, agent}  # the consult's legs are gone


async def test_cancel_while_the_colleague_rings_and_digits_played_out(
        tmp_path: Path, sounds: Path) -> None:
    async with running(tmp_path, sounds, SCENARIO, 20) as lab:
        caller, agent = await talking(lab)
        mark = len(lab.events.items)
        await lab.client.send(setvar(agent, "_CC_CONSULT_DIAL", "PJSIP/1004"))
        await lab.client.send(atxfer(agent))
        await lab.events.wait(lambda e: e.name == "DialBegin", since=mark)
        await lab.client.send(play(agent, "*"))
        await lab.client.send(play(agent, "1"))
        await lab.events.wait(lambda e: e.name == "Unhold", since=mark)
        digits = [e.get("Digit") for e in lab.events.items[mark:] if e.name == "DTMFEnd"]
        assert digits == ["*", "8", *"12345678", "*", "1"]
        assert not [e for e in lab.events.items[mark:] if e.name == "DTMFBegin"]  # received: End only
        assert course(lab, "PJSIP/1004-", mark) == ["Hangup 16"]
        mark = len(lab.events.items)
        await lab.client.send(play(agent, "5", receive=False))
        await lab.events.wait(lambda e: e.name == "DTMFEnd", since=mark)
        sent = [(e.name, e.get("Digit"), e.get("Direction")) for e in lab.events.items[mark:]
                if e.name.startswith("DTMF")]
        assert sent == [("DTMFBegin", "5", "Sent"), ("DTMFEnd", "5", "Sent")]
        assert {ch for ch in lab.sim.pbx.channels} == {caller, agent}


async def test_transferer_hanging_up_completes_or_drops_the_consult(tmp_path: Path, sounds: Path) -> None:
    """Asterisk completes an attended transfer whose transferer hangs up while consulting; one
    who hangs up while the colleague's phone rings leaves the caller to its dialplan."""
    async with running(tmp_path, sounds, SCENARIO, 20) as lab:
        caller, agent = await talking(lab)
        mark = len(lab.events.items)
        await lab.client.send(setvar(agent, "_CC_CONSULT_DIAL", "PJSIP/1005"))
        await lab.client.send(atxfer(agent))
        await lab.events.wait(lambda e: e.name == "BridgeEnter" and e.channel.startswith("PJSIP/1005-"),
                              since=mark)
        lab.sim.pbx.hangups.remote_hangup(lab.sim.pbx.channels[agent])
        done = await lab.events.wait(lambda e: e.name == "AttendedTransfer", since=mark)
        assert done.get("DestType") == "Bridge" and done.get("TransfereeChannel") == caller
        await lab.events.wait(lambda e: e.name == "LocalOptimizationEnd", since=mark)
        [bridge] = lab.sim.pbx.bridges.values()
        assert sorted(m.name.split("-")[0] for m in bridge.members) == ["PJSIP/1005", caller.split("-")[0]]
        assert course(lab, caller, mark) == ["MusicOnHoldStart", "MusicOnHoldStop"]

    async with running(tmp_path / "ringing", sounds, SCENARIO, 20) as lab:
        caller, agent = await talking(lab)
        mark = len(lab.events.items)
        await lab.client.send(setvar(agent, "_CC_CONSULT_DIAL", "PJSIP/1004"))
        await lab.client.send(atxfer(agent))
        await lab.events.wait(lambda e: e.name == "DialBegin", since=mark)
        lab.sim.pbx.hangups.remote_hangup(lab.sim.pbx.channels[agent])
        await lab.events.wait(lambda e: e.name == "Hangup" and e.channel == caller, since=mark)
        assert course(lab, caller, mark) == ["MusicOnHoldStart", "MusicOnHoldStop", "BridgeLeave",
                                             "Hangup 16"]
        await lab.idle()
