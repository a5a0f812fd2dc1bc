"""Simulator fidelity against the real PBX: the server's own AMI stream, recorded on the real
Asterisk by ``tests/pbx`` (``tests/data/pbx-captures/*.jsonl``), against the same scenario run on
the PBX simulator with the same server. The scenario is read off the capture (when each caller
arrived, answered, pressed each digit and hung up; whether each agent's phone answered and when
it hung up, answered 486 Busy, rang out, or had no contact at all), and per channel the
sequences of events must match once the accepted differences below are taken out.

ACCEPTED lists every difference kept on purpose, each with its reason (ACCEPTED_FIELDS: fields
left out); RACES and SURVEY_RACES name the callers compared in outline (wholly, or from the
post-call survey on), each with the race the real PBX ran that a simulated run cannot repeat.
Nothing else may differ. The agent's recording pauses are read off the capture too
(:func:`mutes_from`) and replayed through the server's own pauser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from callcenter.ami.parser import Frame, parse_frame
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario, Survey
from tests.simulator.lab import Sequences

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
# (capture, role) -> why only the role's outline (:func:`outline`) is compared: races the
# real PBX ran one way that a run cannot be made to repeat
RACES: dict[tuple[str, str], str] = {
    ("offers_noanswer_busy_unregistered", "caller +8613911130002"):
        "the server queues SET VARIABLE CC_IVR routed as it rings the agent; Asterisk runs a "
        "queued AGI command on the channel's next frame (up to 20 ms later), and the agent "
        "who answered at once bridged the call first, so the command and the hold music never "
        "ran; the simulator runs the command at once. Then the caller hung up 1 ms after the "
        "agent, before the survey began, which a caller hanging up at a set time cannot repeat",
    ("offers_noanswer_busy_unregistered", "caller +8613911130003"):
        "as for +8613911130002, the bridge overtook the queued AGI command, which then ran "
        "first in the survey; the simulator ran it, and the hold music, before the bridge",
}
# (capture, role) -> why the role is compared exactly up to the survey and in outline from
# there: a caller who hung up right after the agent, as the survey began
SURVEY_RACES: dict[tuple[str, str], str] = {
    ("payment_pause", "caller +8613911160001"):
        "the caller hung up 10 ms after the agent, as the survey's first command (SET VARIABLE "
        "CC_IVR active) ran; the simulated caller hangs up at a time from answer, which the "
        "server's latencies under a scaled clock put a few commands into the survey",
    ("hostile_dtmf", "caller +8613911170001"):
        "the caller hung up as soon as the survey began (its AsyncAGIStart), as for payment_pause",
}
# what an outline keeps: the call's course without its AGI commands and hold music
_DETAIL = ("AGIExecStart", "AGIExecEnd", "AsyncAGIExec", "AsyncAGIStart", "AsyncAGIEnd",
           "MusicOnHoldStart", "MusicOnHoldStop")
# The simulated caller presses each key this much later than the real one did: the real
# caller pressed as soon as the menu's GET DATA started, and under a scaled clock the same
# instant may fall at the end of the prompt before it, a race real Asterisk has too.
PRESS_LATER_S = 0.4
# pjsua's digits last this long; the capture times their end (DTMFEnd), a press its start
DIGIT_S = 0.16
# What follows the presses runs later by as much and by the server's latencies, which a
# scaled clock multiplies: the caller hangs up this much later than the real one did, inside
# the same prompt (the survey's introduction, 4.2 s, which the real callers cut after 0.04 s
# and 1.0 s).
HANG_UP_LATER_S = 2.0
# A caller the server hung up (the survey's HANGUP) hangs up by itself only this much later than
# the real one was: a bound for a run where the server does not, not a race with it.
SERVER_HANGS_UP_WITHIN_S = 30.0


@dataclass(frozen=True)
class Captured:
    at: float
    direction: str
    frame: Frame


def captured_at(capture: Iterable[Captured]) -> datetime:
    """When the capture was recorded: the epoch seconds of Asterisk's first Uniqueid (the demo
    shop the real run read back was seeded then, its dates relative to that day)."""
    for line in capture:
        uniqueid = line.frame.get("Uniqueid") if line.direction == "in" else None
        if uniqueid:
            return datetime.fromtimestamp(int(uniqueid.split(".", 1)[0]), UTC)
    raise ValueError("the capture holds no channel")


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


def caller_channels(lines: Iterable[Captured]) -> dict[str, str]:
    """Each caller's channel (the ``inbound`` Newchannel), as ``caller <number>``."""
    return {c.frame.get("Channel"): f"caller {c.frame.get('CallerIDNum')}" for c in _events(lines)
            if c.frame.event == "Newchannel" and c.frame.get("Context") == "inbound"}


def scenario_from(lines: list[Captured], extensions: Iterable[str]) -> Scenario:
    """Every caller's and agent's behaviour as the capture shows it (times from answer)."""
    events = _events(lines)
    arrivals = [c for c in events if c.frame.get("Channel") in caller_channels(lines)
                and c.frame.event == "Newchannel"]
    callers = tuple(_caller(events, c, c.at - arrivals[0].at + 0.5) for c in arrivals)
    agents = tuple(_agent(events, extension) for extension in extensions)
    return Scenario(callers, agents, "from-capture")


def mutes_from(lines: list[Captured]) -> tuple[tuple[float, bool], ...]:
    """The recording pauses and resumes the server sent (``MixMonitorMute``, asked for through
    ``/api/calls/{id}/recording/pause``), each as (seconds after the caller was first bridged,
    paused)."""
    events = _events(lines)
    bridged = next((c for c in events if c.frame.event == "BridgeEnter"
                    and c.frame.get("Channel") in caller_channels(lines)), None)
    sent = [c for c in lines if c.direction == "out" and c.frame.get("Action") == "MixMonitorMute"]
    if not sent:
        return ()
    assert bridged is not None, "a recording paused before the caller reached an agent"
    return tuple((round(c.at - bridged.at, 3), c.frame.get("State") == "1") for c in sent)


def _first(events: list[Captured], name: str, channel: str, **fields: str) -> Captured | None:
    return next((c for c in events if c.frame.event == name and c.frame.get("Channel").startswith(channel)
                 and all(c.frame.get(k) == v for k, v in fields.items())), None)


def _caller(events: list[Captured], arrived: Captured, at_s: float) -> CallerScript:
    """The caller as the capture shows it. Keys are pressed as many seconds after answer as in
    the capture, but the survey's answer as many seconds after the survey began: by then the
    whole call's latencies, which a scaled clock multiplies, have added up, and a key pressed
    at its answer-relative time could fall in the prompt before the survey's question."""
    channel = arrived.frame.get("Channel")
    answered = _first(events, "Newstate", channel, ChannelStateDesc="Up")
    gone = _first(events, "Hangup", channel)
    assert answered is not None and gone is not None, f"{channel}: never answered or never hung up"
    survey_began = _first(events, "AsyncAGIStart", channel, Context="survey")
    ends = [c for c in events if c.frame.event == "DTMFEnd" and c.frame.get("Channel") == channel
            and c.frame.get("Direction") == "Received"]
    in_survey = [c for c in ends if survey_began is not None and c.at > survey_began.at]
    survey = None
    if survey_began is not None and len(in_survey) == 1:
        ends.remove(in_survey[0])
        survey = Survey(in_survey[0].frame.get("Digit"),
                        round(in_survey[0].at - DIGIT_S - survey_began.at + PRESS_LATER_S, 2))
    presses = tuple(Press(round(c.at - DIGIT_S - answered.at + PRESS_LATER_S, 2), c.frame.get("Digit"),
                          int(DIGIT_S * 1000)) for c in ends)
    server_hung_up = any(c.frame.event == "AGIExecStart" and c.frame.get("Channel") == channel
                         and c.frame.get("Command") == "HANGUP" for c in events)
    later = SERVER_HANGS_UP_WITHIN_S if server_hung_up else HANG_UP_LATER_S
    return CallerScript(number=arrived.frame.get("CallerIDNum"), exten=arrived.frame.get("Exten"),
                        arrival=Arrival(at_s=(round(at_s, 3),)),
                        behaviour=Behaviour(presses=presses, survey=survey,
                                            hangup_after_s=round(gone.at - answered.at + later, 2)))


def _agent(events: list[Captured], extension: str) -> AgentScript:
    """The phone of ``extension`` as its first channel shows it: no channel at all (not
    registered), hung up with cause 17 (486 Busy), 19 (rang out) or answered and hung up."""
    prefix = f"PJSIP/{extension}-"
    rung = _first(events, "Newchannel", prefix)
    if rung is None:
        return AgentScript(extension=extension, registered=False)
    channel = rung.frame.get("Channel")
    gone = _first(events, "Hangup", channel)
    cause = gone.frame.get("Cause") if gone is not None else ""
    if cause in ("17", "19"):
        return AgentScript(extension=extension, behaviour=Behaviour(busy=cause == "17",
                                                                    never_answers=cause == "19"))
    up = _first(events, "Newstate", channel, ChannelStateDesc="Up")
    assert up is not None and gone is not None, f"{channel}: neither failed nor answered"
    return AgentScript(extension=extension, behaviour=Behaviour(
        answer_after_s=round(up.at - rung.at, 2), hangup_after_s=round(gone.at - up.at, 2)))


class _Roles(Sequences):
    """The lab's per-channel sequences, but an ``OriginateResponse`` goes to the phone it
    dialed: a failure among that phone's channel events (``PJSIP/<ext>-X``, whether or not a
    channel was made), where Asterisk puts it before the ``Hangup``; a success on its own
    (``PJSIP/<ext>-X answered``), as Asterisk sends it from the originating thread while the
    answered channel goes on: the real captures show it before, between or after ``Newstate``,
    ``DialEnd`` and ``BridgeEnter``."""

    def add(self, frame: Frame) -> None:
        if frame.event != "OriginateResponse":
            super().add(frame)
            return
        dialed = frame.get("Channel").split("-", 1)[0]
        key = f"{dialed}-X answered" if frame.get("Response") == "Success" else f"{dialed}-X"
        self.by_key.setdefault(key, []).append(
            f"OriginateResponse Response={frame.get('Response')} Reason={frame.get('Reason')}")


def by_role(frames: Iterable[Frame]) -> dict[str, list[str]]:
    """Per role (``caller <number>``, and each agent phone ``PJSIP/<ext>-X``: its channels and
    the outcome of each Originate to it), the event signatures (``tests.simulator.lab``'s
    normalisation) minus ACCEPTED."""
    kept = [f for f in frames if f.event and f.event not in ACCEPTED]
    callers = {f.get("Channel"): f"caller {f.get('CallerIDNum')}" for f in kept
               if f.event == "Newchannel" and f.get("Context") == "inbound"}
    roles = _Roles()
    for f in kept:
        roles.add(Frame({**f.fields, "Channel": callers[f.get("Channel")]}, f.raw)
                  if f.get("Channel") in callers else f)
    return {key: [_strip_fields(item) for item in raw] for key, raw in roles.normalised().items()
            if key in callers.values() or _AGENT.match(key)}


_AGENT = re.compile(r"^PJSIP/\d+-X( answered)?$")


# a prompt cut short by a hang-up stops at a sample position that depends on the exact instant
# of the hang-up (STREAM FILE result -1 with endpos); the position is not compared
_CUT_SHORT = re.compile(r"(result%3D-1%20endpos%3D)\d+")


def _strip_fields(signature: str) -> str:
    signature = _CUT_SHORT.sub(r"\1*", signature)
    return " ".join(part for part in signature.split(" ")
                    if part.split("=", 1)[0] not in ACCEPTED_FIELDS)


def outline_from_survey(signatures: list[str]) -> list[str]:
    """The role's events as they are up to the survey, in outline from its start on."""
    start = next((i for i, item in enumerate(signatures)
                  if item.startswith("AsyncAGIStart") and " Context=survey " in item), len(signatures))
    return signatures[:start] + outline(signatures[start:])


def outline(signatures: list[str]) -> list[str]:
    """A role's events without AGI commands and hold music, and without the context and
    extension (the dialplan or the survey the channel was in): whether the caller reached
    the agent, the recording began, and how the channels left the bridge and hung up."""
    return [" ".join(part for part in item.split(" ") if part.split("=", 1)[0] not in ("Context", "Exten"))
            for item in signatures if item.split(" ", 1)[0] not in _DETAIL]
