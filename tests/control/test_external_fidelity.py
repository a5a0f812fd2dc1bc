"""The simulator's [cc-external] against the real Asterisk 22's (the capture of
tests/pbx/test_transfer.py's outside transfer): after the agent's BlindTransfer into
[cc-external], the caller's channel dials the number through the carrier, the phone there
answers and shares a bridge with the caller, and hangs up; the caller, who keeps the agent's
Bridge() F() goto, gets the post-call survey: the same events on the caller's and the carrier
leg's channels, in the same order; and a busy number takes the caller back to AGI
in [cc-transfer]."""

from __future__ import annotations

from pathlib import Path

from callcenter.ami import messages
from callcenter.ami.messages import Action
from callcenter.simulator import Behaviour
from tests.pbx.fidelity import read_capture
from tests.pbx.rig import CAPTURES
from tests.simulator.support import CallControl, running
from tests.simulator.test_ami import scenario, sounds, voices  # noqa: F401  (fixtures)

# what the caller and the outside party go through (the rest differs by phone and bridge detail)
_KEPT = {"BlindTransfer", "Newchannel", "NewCallerid", "DialBegin", "DialEnd", "BridgeEnter",
         "BridgeLeave", "Hangup", "AsyncAGIStart"}
CENTER = "4001"  # CC_CALLBACK_CALLERID
NUMBER = "+861055500100"


def _story(frames: list[tuple[str, str, str, str]], caller: str) -> list[str]:
    """Event names on the caller's channel or a carrier leg, the leg named by its role (and
    the context of the caller's AGI)."""
    out = []
    for name, channel, dest, context in frames:
        if name not in _KEPT:
            continue
        if channel == caller:
            out.append(f"{name}:caller" + (":carrier" if dest.startswith("PJSIP/carrier-") else "")
                       + (f":{context}" if name == "AsyncAGIStart" else ""))
        elif channel.startswith("PJSIP/carrier-"):
            out.append(f"{name}:carrier")
    return out


def real_story() -> list[str]:
    lines = read_capture(CAPTURES / "call_control_external_transfer.jsonl")
    sent = next(i for i, c in enumerate(lines) if c.frame.fields.get("Action") == "BlindTransfer")
    events = [c.frame for c in lines[sent:] if c.direction == "in" and c.frame.event]
    transfer = next(f for f in events if f.event == "BlindTransfer")
    caller = transfer.fields.get("TransfereeChannel", "")
    frames = [(f.event, f.fields.get("Channel", ""), f.fields.get("DestChannel", ""),
               f.fields.get("Context", "")) for f in events]
    story = _story(frames, caller)
    return story[:story.index("Hangup:caller") + 1]


def real_dial() -> tuple[str, str, str]:
    """The caller's number before the transfer, and the caller ID and connected line number
    of the caller's DialBegin towards the carrier (the carrier leg's connected line is what its
    INVITE's From says)."""
    lines = read_capture(CAPTURES / "call_control_external_transfer.jsonl")
    events = [c.frame for c in lines if c.direction == "in" and c.frame.event]
    transfer = next(f for f in events if f.event == "BlindTransfer")
    caller = transfer.fields.get("TransfereeChannel", "")
    number = next(f.fields.get("CallerIDNum", "") for f in events
                  if f.event == "Newchannel" and f.fields.get("Channel") == caller)
    dial = next(f for f in events if f.event == "DialBegin" and f.fields.get("Channel") == caller
                and f.fields.get("DestChannel", "").startswith("PJSIP/carrier-"))
    return number, dial.fields.get("CallerIDNum", ""), dial.fields.get("DestConnectedLineNum", "")


async def test_the_simulators_outside_transfer_emits_what_asterisk_emits(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:  # noqa: F811
    real = real_story()
    async with running(tmp_path, sounds, scenario(voices, agent_hangup_s=60.0), 20) as lab:
        lab.sim.pbx.dialplan.callbacks.add_customer(NUMBER, Behaviour(answer_after_s=0.5,
                                                                      hangup_after_s=6.0))
        CallControl(lab, survey=True).start()  # the agent's Bridge() has F(survey^s^1)
        assert lab.sim.scenario is not None
        caller = lab.sim.place_call(lab.sim.scenario.callers[0])
        await lab.events.wait(lambda e: e.name == "MixMonitorStart")
        agent = next(e.channel for e in lab.events.named("BridgeEnter") if e.channel != caller)
        mark = len(lab.events.items)
        await lab.client.send(Action("BlindTransfer", (
            ("Channel", agent), ("Context", "cc-external"), ("Exten", NUMBER))))
        await lab.events.wait(lambda e: e.name == "Hangup" and e.channel == caller, timeout=60,
                              since=mark)
        mine = lab.events.items[mark:]
        await lab.idle()
    frames = [(e.name, e.channel, e.get("DestChannel"), e.get("Context")) for e in mine]
    story = _story(frames, caller)
    assert story[:story.index("Hangup:caller") + 1] == real, (story, real)
    dial = next(e for e in mine if e.name == "DialBegin")
    assert dial.get("DialString") == f"{NUMBER}@carrier"
    # the caller keeps their number; only the outgoing leg shows the center's
    number, real_caller, real_shown = real_dial()
    assert (real_caller, real_shown) == (number, CENTER)
    placed = next(e for e in lab.events.items if e.name == "Newchannel" and e.channel == caller)
    assert (dial.get("CallerIDNum"), dial.get("DestConnectedLineNum")) == (
        placed.get("CallerIDNum"), CENTER)


async def test_a_busy_outside_number_takes_the_caller_back_to_agi_in_the_transfer_context(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:  # noqa: F811
    async with running(tmp_path, sounds, scenario(voices, agent_hangup_s=60.0), 20) as lab:
        lab.sim.pbx.dialplan.callbacks.add_customer(NUMBER, Behaviour(busy=True))
        CallControl(lab).start()
        assert lab.sim.scenario is not None
        caller = lab.sim.place_call(lab.sim.scenario.callers[0])
        await lab.events.wait(lambda e: e.name == "MixMonitorStart")
        agent = next(e.channel for e in lab.events.named("BridgeEnter") if e.channel != caller)
        mark = len(lab.events.items)
        await lab.client.send(Action("BlindTransfer", (
            ("Channel", agent), ("Context", "cc-external"), ("Exten", NUMBER))))
        back = await lab.events.wait(lambda e: e.name == "AsyncAGIStart" and e.channel == caller,
                                     since=mark)
        end = next(e for e in lab.events.items[mark:] if e.name == "DialEnd")
        await lab.client.send(messages.hangup(caller))
        await lab.idle()
    assert end.get("DialStatus") == "BUSY"
    assert (back.get("Context"), back.get("Exten")) == ("cc-transfer", "back")
