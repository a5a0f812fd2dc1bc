"""The simulator's BlindTransfer against the real Asterisk 22's (the capture of
tests/pbx/test_transfer.py): the same answer, then the same events, in the same order, with the
same fields on the event the tracker reads, and the transferee back in AGI at the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.ami import messages
from callcenter.ami.messages import Action
from tests.pbx.fidelity import read_capture
from tests.pbx.rig import CAPTURES
from tests.simulator.support import CallControl, running
from tests.simulator.test_ami import scenario, sounds, voices  # noqa: F401  (fixtures)

# Events of no concern to the comparison: the device state follows the hang-up on both
_IGNORED = {"DeviceStateChange", "Newexten", "VarSet", "NewConnectedLine"}


def real_after_transfer() -> tuple[str, list[str], list[str]]:
    lines = read_capture(CAPTURES / "call_control_blind_transfer.jsonl")
    sent = next(i for i, c in enumerate(lines) if c.frame.fields.get("Action") == "BlindTransfer")
    answer = next(c for c in lines[sent:] if c.frame.fields.get("Response"))
    events = [c.frame for c in lines[sent:] if c.direction == "in" and c.frame.event]
    until = next(i for i, f in enumerate(events) if f.event == "BridgeDestroy")
    names = [f.event for f in events[:until + 1] if f.event not in _IGNORED
             and not f.event.startswith("AGIExec") and f.event != "AsyncAGIExec"]
    transfer = next(f for f in events if f.event == "BlindTransfer")
    return answer.frame.fields.get("Message", ""), names, sorted(transfer.fields)


async def test_the_simulators_blind_transfer_emits_what_asterisk_emits(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:  # noqa: F811
    message, real, real_fields = real_after_transfer()
    async with running(tmp_path, sounds, scenario(voices, agent_hangup_s=60.0), 20) as lab:
        CallControl(lab).start()
        caller = lab.sim.place_call(lab.sim.scenario.callers[0])
        await lab.events.wait(lambda e: e.name == "MixMonitorStart")
        agent = next(e.channel for e in lab.events.named("BridgeEnter") if e.channel != caller)
        mark = len(lab.events.items)
        answer = await lab.client.send(Action("BlindTransfer", (
            ("Channel", agent), ("Context", "cc-transfer"), ("Exten", "refunds"))))
        await lab.events.wait(lambda e: e.name == "BridgeDestroy", since=mark)
        mine = lab.events.items[mark:]
        names = [e.name for e in mine if e.name not in _IGNORED
                 and not e.name.startswith("AGIExec") and e.name != "AsyncAGIExec"]
        names = names[:names.index("BridgeDestroy") + 1]
        transfer = next(e for e in mine if e.name == "BlindTransfer")
        start = next(e for e in mine if e.name == "AsyncAGIStart")
        await lab.client.send(messages.hangup(caller))
        await lab.idle()
    assert answer.get("Message") == message == "Transfer succeeded"
    assert names == real, (names, real)
    assert sorted(transfer.frame.fields) == real_fields
    assert (start.channel, start.get("Context"), start.get("Exten")) == (caller, "cc-transfer", "refunds")
    assert transfer.get("TransfererChannel") == agent and transfer.get("Extension") == "refunds"


@pytest.mark.parametrize(("headers", "error"), [
    ((("Exten", "refunds"),), "No channel specified"),
    ((("Channel", "PJSIP/nope-1"),), "No extension specified"),
    ((("Channel", "PJSIP/nope-1"), ("Exten", "refunds")), "Channel specified does not exist"),
])
async def test_bad_blind_transfers_are_refused_as_asterisk_refuses_them(
        tmp_path: Path, sounds: Path, voices: dict[str, Path],  # noqa: F811
        headers: tuple[tuple[str, str], ...], error: str) -> None:
    from callcenter.ami.errors import AmiActionFailed

    async with running(tmp_path, sounds, scenario(voices), 20) as lab:
        with pytest.raises(AmiActionFailed, match=error):
            await lab.client.send(Action("BlindTransfer", headers))
