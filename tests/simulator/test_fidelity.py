"""FIDELITY: every real Asterisk capture, replayed as a client against the simulator.

For each transcript in ``shared/asterisk-lab``, the lab client's actions are sent to the
simulator in the same order, each in reaction to the same frame (and after the same simulated
delay), with the lab's handsets scripted as in ``etc/extensions.conf``. Then, per channel
(and per device, bridge, originate), the sequence of event names and key fields must equal the
capture's, volatile values normalised.

Differences kept on purpose (and applied by :mod:`tests.simulator.lab`):
- RTCPSent/RTCPReceived and the RTPAUDIOQOS* VarSets are not produced: no RTP media is simulated.
- A digit that arrives just as an AGI command starts may be reported before or after that
  command's AGIExecStart (real Asterisk shows both orders: ivr_route_record vs sip_call), and
  the scripted caller presses 0.6 s later than the lab handset (see ``lab.PRESS_AT``) so the
  digit cannot fall into the end of STREAM FILE, a race real Asterisk has too.
- The order of events of *different* channels emitted at the same instant is not compared
  (Asterisk's own order varies between captures of the same flow).
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest

from callcenter.server.replay import replay_records
from callcenter.simulator import PbxSimulator
from tests.amilab import CAPTURES, TRANSCRIPTS, capture
from tests.simulator.driver import drive
from tests.simulator.lab import (
    GREET,
    REFUND,
    capture_frames,
    make_sounds,
    normalise_channel,
    sequences,
    wav_seconds,
)

SCALE = {"sip_register": 40.0}
DEFAULT_SCALE = 12.0


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sounds(tmp_path_factory.mktemp("sounds"))


def _responses(lines: list) -> list[tuple[str, str, str]]:
    from callcenter.ami.parser import Frame, parse_frame

    actions: dict[str, str] = {}
    out = []
    for line in lines:
        parsed = parse_frame(line.frame.rstrip("\r\n"), ("Action", "Response"))
        if not isinstance(parsed, Frame):
            continue
        f = parsed.fields
        if line.direction == "out":
            actions[f.get("ActionID", "")] = f["Action"]
        elif "Response" in f and "Event" not in f:
            name = actions.get(f.get("ActionID", ""), "?")
            if name in ("Login", "Logoff"):
                continue
            message = f.get("Message", "")
            for token in message.split():
                if token.startswith(("Local/", "PJSIP/")):
                    message = message.replace(token, normalise_channel(token))
            out.append((name, f["Response"], message))
    return out


@pytest.mark.parametrize("name", CAPTURES)
async def test_given_capture_when_same_flow_runs_on_simulator_then_same_events_and_calls(
        name: str, tmp_path: Path, sounds: Path) -> None:
    lines = capture(name)
    run, sim = await drive(lines, name, tmp_path, sounds, SCALE.get(name, DEFAULT_SCALE))
    expected = sequences(capture_frames(lines)).normalised()
    actual = sequences(e.frame for e in run.events).normalised()
    assert sorted(actual) == sorted(expected), "different channels/devices"
    for key in expected:
        assert actual[key] == expected[key], f"{name}: {key}"
    assert sorted(run.responses) == sorted(_responses(lines))

    # Every frame has exactly the header set and order Asterisk used for that event.
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for frame in capture_frames(lines):
        shapes.setdefault(frame.fields.get("Event", ""), set()).add(tuple(frame.fields))
    for event in run.events:
        kind = event.frame.fields["Event"]
        if kind in shapes:
            assert tuple(event.frame.fields) in shapes[kind], f"{kind} headers differ"

    _check_recordings(name, sim)

    # The same calls come out of the product's call tracker as out of the capture's replay.
    calls = [c for c in sorted(run.tracker.calls.values(), key=lambda c: c.arrived_at)
             if c.caller_uniqueid]
    assert [_project(c.to_record()) for c in calls] == \
        [_project(r) for r in replay_records(TRANSCRIPTS / f"{name}.jsonl")]


def _project(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("state", "outcome", "digits", "hangup_cause", "hangup_by", "caller_number",
            "caller_name")
    out = {k: record[k] for k in keys}
    out["agent_channel"] = normalise_channel(record["agent_channel"])
    out["recordings"] = len(record["recordings"])
    out["offers"] = [(o["result"], o["cause"], o["reason"]) for o in record["offers"]]
    return out


def _pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


def _check_recordings(name: str, sim: PbxSimulator) -> None:
    """Recordings of the lab flows: as long as the recorded span, the customer's words only in
    the ``r()`` file and the agent's only in the ``t()`` file (the lab's real speech files)."""
    for rec in sim.recordings():
        assert rec.stopped_at is not None and rec.read_file and rec.write_file and rec.file
        span = rec.stopped_at - rec.started_at
        for path in (rec.file, rec.read_file, rec.write_file):
            assert abs(wav_seconds(path) - span) < 1 / 4000
        customer, heard = _pcm(rec.read_file), _pcm(rec.write_file)
        greet = _pcm(GREET)[16000:17600]  # a tenth of a second from the second second
        assert greet in heard and greet not in customer
        if name in ("ivr_route_record", "recording_pause", "resync", "sip_call"):
            words = _pcm(REFUND)[80000:81600]
            assert words in customer and words not in heard
        if name == "recording_pause":
            # Muted for 4 s while the customer talks: silence there, the rest of the words after.
            spans = {(side, start, end) for side, start, end in rec.muted}
            [(start, end)] = {(s, e) for _, s, e in spans}
            assert end is not None and end - start == pytest.approx(4.0, abs=0.2)
            first, last = (round((t - rec.started_at) * 8000) * 2 for t in (start, end))
            assert customer[first:last] == bytes(last - first) and heard[first:last] == bytes(
                last - first)
            assert customer[last:] != bytes(len(customer) - last)
