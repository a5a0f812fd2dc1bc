"""The Asterisk lab as the simulator's tests use it: prompts of the captured lengths, the lab's
handsets as a scenario, and per-channel event sequences with volatile values normalised."""

from __future__ import annotations

import re
import wave
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.ami.parser import Frame, parse_frame
from callcenter.simulator.scenario import (
    AgentScript,
    Behaviour,
    CallerScript,
    Press,
    RegistrationChange,
    Scenario,
    Speech,
)
from tests.amilab import LAB

RECORDINGS = LAB / "recordings"
GREET, RESOLVE, REFUND = (RECORDINGS / f"{n}.wav" for n in ("agent-greet", "agent-resolve",
                                                             "customer-refund"))

# Prompt lengths in samples (8 kHz) as the captures' STREAM FILE endpos report them; prompts
# the captures never play to the end get a plausible length. "welcome" is missing on purpose.
PROMPTS = {"hello-world": 11234, "beep": 3404, "auth-thankyou": 7679,
           "vm-enter-num-to-call": 14000, "vm-press": 9000, "digits/1": 3000, "digits/2": 3000}


def write_tone(path: Path, samples: int, amplitude: int = 3000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        frame = bytearray()
        for i in range(samples):
            value = amplitude if (i // 10) % 2 else -amplitude
            frame += value.to_bytes(2, "little", signed=True)
        out.writeframes(bytes(frame))
    return path


def make_sounds(root: Path) -> Path:
    for name, samples in PROMPTS.items():
        write_tone(root / "en" / f"{name}.wav", samples)
    return root


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


# The lab's handsets (etc/extensions.conf) as scripted parties. The caller's first press comes
# at 2.6 s instead of the lab's 2.0 s: the lab's timing lands the digit within milliseconds of
# the end of STREAM FILE (a race in real Asterisk too); 2.6 s lands it safely inside GET DATA.
PRESS_AT = 2.6
_GREET_END = 0.5 + wav_seconds(GREET)


def lab_scenario(name: str) -> Scenario:
    refund = Speech(10.45, REFUND)
    callers = (
        CallerScript("13800000001", handset="press2talk@sim-caller", behaviour=Behaviour(
            presses=(Press(PRESS_AT, "2"),), says=(refund,), hangup_after_s=49.95)),
        CallerScript("13800000001", handset="press2@sim-caller", behaviour=Behaviour(
            presses=(Press(PRESS_AT, "2"),), hangup_after_s=33.05)),
        CallerScript("13800000001", handset="abandon@sim-caller", behaviour=Behaviour(
            presses=(Press(PRESS_AT, "1"),), hangup_after_s=8.05)),
        CallerScript("13600000005", handset="survey5@sim-caller-s", behaviour=Behaviour(
            presses=(Press(PRESS_AT, "2"), Press(14.45, "5")), hangup_after_s=24.9)),
        CallerScript("13800000001", endpoint="pstn", behaviour=Behaviour(
            presses=(Press(2.46, "2", 200),), says=(Speech(9.15, REFUND),))),
    )
    agents = [
        AgentScript("1001", dial="Local/1001@sim-agent/n", context="sim-agent", behaviour=Behaviour(
            answer_after_s=1, says=(Speech(0, GREET), Speech(_GREET_END + 11, RESOLVE)),
            hangup_after_s=_GREET_END + 11 + wav_seconds(RESOLVE) + 1)),
        AgentScript("2001", dial="Local/2001@sim-agent/n", context="sim-agent",
                    behaviour=Behaviour(never_answers=True)),
        AgentScript("1005", dial="Local/1005@sim-agent-s/n", context="sim-agent-s",
                    behaviour=Behaviour(answer_after_s=1, says=(Speech(0, GREET),),
                                        hangup_after_s=_GREET_END)),
        AgentScript("1001", behaviour=Behaviour(
            says=(Speech(0, GREET), Speech(13.5, RESOLVE)), hangup_after_s=26.0)),
        AgentScript("1002", behaviour=Behaviour(busy=True), registration=(
            (RegistrationChange(13.627, False), RegistrationChange(40.627, True))
            if name == "sip_register" else ())),
        AgentScript("1003", registered=False),
    ]
    return Scenario(callers, tuple(agents), name)


# --- per-channel sequences -----------------------------------------------------------------

_SUFFIX = re.compile(r"-[0-9a-f]{8}(?=;[12]$|$)")
KEY_FIELDS = ("ChannelStateDesc", "DestChannelStateDesc", "Context", "DestContext", "Exten",
              "DestExten", "Priority", "Cause", "DialStatus", "Reason", "Digit", "Application",
              "Variable", "State", "Direction", "Class", "Response", "BridgeNumChannels")
# Differences kept on purpose, with the reason (the fidelity test applies exactly these):
IGNORED_EVENTS = {
    "RTCPSent": "no RTP media is simulated, so no RTCP reports",
    "RTCPReceived": "no RTP media is simulated, so no RTCP reports",
}
IGNORED_VARIABLES = ("RTPAUDIOQOS",)  # per-call RTP statistics: no RTP media is simulated


def normalise_channel(name: str) -> str:
    return _SUFFIX.sub("-X", name)


@dataclass
class Sequences:
    """Per-key (channel, device, bridge…) event sequences with volatile values replaced."""

    by_key: dict[str, list[str]] = field(default_factory=dict)
    uniqueids: dict[str, str] = field(default_factory=dict)  # uniqueid -> normalised channel
    bridges: dict[str, str] = field(default_factory=dict)  # bridge id -> bridge#n
    originates: dict[str, str] = field(default_factory=dict)  # ActionID -> orig#n

    def add(self, frame: Frame) -> None:
        f = frame.fields
        name = f.get("Event", "")
        if not name or name in IGNORED_EVENTS:
            return
        if name == "VarSet" and f.get("Variable", "").startswith(IGNORED_VARIABLES):
            return
        channel = f.get("Channel") or f.get("DestChannel") or f.get("LocalOneChannel") or ""
        if name == "Newchannel":
            self.uniqueids[f.get("Uniqueid", "")] = normalise_channel(channel)
        bridge = f.get("BridgeUniqueid", "")
        if bridge and bridge not in self.bridges:
            self.bridges[bridge] = f"bridge#{len(self.bridges) + 1}"
        if name == "OriginateResponse":
            key = self.originates.setdefault(f.get("ActionID", ""), f"orig#{len(self.originates) + 1}")
        elif channel and name not in ("OriginateResponse",):
            key = normalise_channel(channel)
        elif bridge:
            key = self.bridges[bridge]
        else:
            key = f.get("Device") or f.get("Peer") or f.get("AOR") or name
        parts = [name] + [f"{k}={f[k]}" for k in KEY_FIELDS if k in f]
        if name in ("AsyncAGIExec", "AGIExecEnd"):
            parts.append(f"Result={f.get('Result', '')}")
        if "ActionID" in f and name != "OriginateResponse":
            parts.append("(list item)")
        if name in ("CoreShowChannel", "Status"):
            parts.append(f"App={f.get('Application', '')}")
        linked = f.get("Linkedid") or f.get("DestLinkedid")
        if linked:
            parts.append(f"Linkedid->{self.uniqueids.get(linked, '?')}")
        if channel and bridge:
            parts.append(self.bridges[bridge])
        self.by_key.setdefault(key, []).append(" ".join(parts))

    def normalised(self) -> dict[str, list[str]]:
        """Sequences with the one ordering race Asterisk itself shows settled: a digit that
        arrives as an AGI command starts may be reported before or after ``AGIExecStart``
        (ivr_route_record vs sip_call)."""
        out = {}
        for key, seq in self.by_key.items():
            seq = list(seq)
            for i in range(len(seq) - 1):
                if seq[i].startswith("AGIExecStart") and seq[i + 1].startswith("DTMFBegin"):
                    seq[i], seq[i + 1] = seq[i + 1], seq[i]
            out[key] = seq
        return out


def sequences(frames: Iterable[Frame]) -> Sequences:
    seqs = Sequences()
    for frame in frames:
        seqs.add(frame)
    return seqs


def capture_frames(lines: Iterable[object]) -> list[Frame]:
    out = []
    for line in lines:
        if getattr(line, "direction", "") != "in":
            continue
        text = getattr(line, "frame", "").rstrip("\r\n")
        parsed = parse_frame(text)
        if isinstance(parsed, Frame):
            out.append(parsed)
    return out
