"""Simulator fidelity against the real PBX: the server's own AMI stream, recorded on the real
Asterisk by ``tests/pbx`` (``tests/data/pbx-captures/*.jsonl``), against the same scenario run on
the PBX simulator with the same server. The scenario is read off the capture (when the caller
answered and pressed each digit, when the agent's phone answered and hung up), and per channel
the sequences of events must match once the accepted differences below are taken out.

ACCEPTED lists every difference kept on purpose, each with its reason; nothing else may differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from callcenter.ami.parser import Frame, parse_frame
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario
from tests.simulator.lab import normalise_channel, sequences

# event name -> why it is not compared
ACCEPTED: dict[str, str] = {
    "RTCPSent": "the simulator carries no RTP, so no RTCP reports",
    "RTCPReceived": "the simulator carries no RTP, so no RTCP reports",
    "VarSet": "channel variables set by Asterisk's own modules (RTPAUDIOQOS*, BRIDGEPEER, "
              "DIALEDPEER*, MIXMONITOR_FILENAME, SIP header and PJSIP internals) differ in number "
              "and order between builds; the variables the server sets are checked through "
              "the AGI and Setvar responses",
    "NewConnectedLine": "connected-line updates depend on the SIP phones' headers (pjsua sends "
                        "none for a P-Asserted-Identity); the simulator sends the ones the lab saw",
    "DeviceStateChange": "device state is keyed by device, not by channel; its timing relative "
                         "to channel events depends on Asterisk's taskprocessors",
    "ContactStatus": "qualify (SIP OPTIONS) timing depends on when the phones registered",
    "PeerStatus": "qualify (SIP OPTIONS) timing depends on when the phones registered",
    "Registry": "carrier registration is configured away in the test overlay",
    "DTMFBegin": "pjsua's RFC 4733 digits last 160 ms; a digit's Begin may land before or after "
                 "the AGI command that reads it (real Asterisk shows both); DTMFEnd is compared",
    "NewCallerid": "pjsua's From header carries no display name; Asterisk announces the caller "
                   "ID once more when the IVR sets it",
    "HangupRequest": "who asks for a hang-up first is a race between the phone's BYE and the "
                     "server's Hangup action; Hangup and its Cause are compared",
    "SoftHangupRequest": "as HangupRequest",
    "FullyBooted": "sent once per AMI login; the captures cover a window of a longer link",
    "SuccessfulAuth": "as FullyBooted",
    "Newexten": "the simulator sends dialplan-class events to every AMI user; the shipped "
                "manager.conf's user does not read the dialplan class, so Asterisk sends none",
}
# key fields not compared, with the reason
ACCEPTED_FIELDS: dict[str, str] = {
    "Priority": "the simulator runs a model of [inbound] (NoOp, AGI) rather than "
                "asterisk-conf/extensions.conf, whose heartbeat check puts AGI at a later priority",
}
# The simulated caller presses each key this much later than the real one did: the real
# caller pressed as soon as the menu's GET DATA started, and under a scaled clock the same
# instant may fall at the end of the prompt before it, a race real Asterisk has too.
PRESS_LATER_S = 0.4
# keys compared: the caller's and the agent's channel
ROLES = ("caller", "agent")


@dataclass(frozen=True)
class Captured:
    at: float
    direction: str
    frame: Frame


def read_capture(path: Path) -> list[Captured]:
    out = []
    for text in path.read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        parsed = parse_frame(line["frame"].rstrip("\r\n"), ("Event", "Response", "Action"))
        if isinstance(parsed, Frame):
            out.append(Captured(float(line["t"]), line["dir"], parsed))
    return out


def _events(lines: Iterable[Captured]) -> list[Captured]:
    return [c for c in lines if c.direction == "in" and c.frame.event]


def caller_channel(lines: list[Captured]) -> str:
    return next(c.frame.get("Channel") for c in _events(lines)
                if c.frame.event == "Newchannel" and c.frame.get("Context") == "inbound")


def scenario_from(lines: list[Captured], agent_extension: str) -> tuple[Scenario, str]:
    """The caller's and the agent's behaviour as the capture shows it (times from answer)."""
    events = _events(lines)
    caller = caller_channel(lines)

    def first(name: str, channel: str, **fields: str) -> Captured:
        return next(c for c in events if c.frame.event == name and c.frame.get("Channel").startswith(channel)
                    and all(c.frame.get(k) == v for k, v in fields.items()))

    arrived = first("Newchannel", caller)
    answered = first("Newstate", caller, ChannelStateDesc="Up")
    presses = tuple(Press(round(c.at - answered.at + PRESS_LATER_S, 2), c.frame.get("Digit"), 160)
                    for c in events
                    if c.frame.event == "DTMFEnd" and c.frame.get("Channel") == caller
                    and c.frame.get("Direction") == "Received")
    caller_gone = first("Hangup", caller)
    agent_prefix = f"PJSIP/{agent_extension}-"
    rung = first("Newchannel", agent_prefix)
    agent_up = first("Newstate", agent_prefix, ChannelStateDesc="Up")
    agent_gone = first("Hangup", agent_prefix)
    number = arrived.frame.get("CallerIDNum")
    call = CallerScript(number=number, exten=arrived.frame.get("Exten"), arrival=Arrival(at_s=(0.5,)),
                        behaviour=Behaviour(presses=presses,
                                            hangup_after_s=round(caller_gone.at - answered.at, 2)))
    agent = AgentScript(extension=agent_extension, behaviour=Behaviour(
        answer_after_s=round(agent_up.at - rung.at, 2), hangup_after_s=round(agent_gone.at - agent_up.at, 2)))
    return Scenario((call,), (agent,), "from-capture"), number


def by_role(frames: Iterable[Frame], caller: str, agent_prefix: str) -> dict[str, list[str]]:
    """Per role, the event signatures (``tests.simulator.lab``'s normalisation) minus ACCEPTED."""
    kept = [f for f in frames if f.event and f.event not in ACCEPTED]
    seqs = sequences(kept).normalised()
    out: dict[str, list[str]] = {}
    for key, raw in seqs.items():
        seq = [_strip_fields(item) for item in raw]
        if key == normalise_channel(caller):
            out["caller"] = seq
        elif key.startswith(agent_prefix) and "agent" not in out:
            out["agent"] = seq
    return out


# a prompt cut short by a hang-up stops at a sample position that depends on the exact instant
# of the hang-up (STREAM FILE result -1 with endpos); the position is not compared
_CUT_SHORT = re.compile(r"(result%3D-1%20endpos%3D)\d+")


def _strip_fields(signature: str) -> str:
    signature = _CUT_SHORT.sub(r"\1*", signature)
    return " ".join(part for part in signature.split(" ")
                    if part.split("=", 1)[0] not in ACCEPTED_FIELDS)
