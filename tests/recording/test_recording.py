"""Recording: the MixMonitor decision, file measurement, and flags for missing or empty files."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import asyncpg

from callcenter.calls.dispatch import CallDispatcher
from callcenter.calls.model import CallState
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.recording.policy import RecordingPolicy
from callcenter.recording.registry import RecordingRegistry, inspect_recording, path_mapper
from callcenter.server.replay import events_and_actions, replay
from callcenter.store.events import EventLogWriter
from tests.amilab import LAB, capture


def talking_call():
    lines = [line for line in capture("ivr_route_record")
             if not line.frame.startswith("Action: MixMonitor")]
    enters = [i for i, line in enumerate(lines) if line.frame.startswith("Event: BridgeEnter")]
    tracker = replay(lines[:enters[1] + 1])  # both parties in the bridge, nothing recorded yet
    [call] = tracker.live_calls()
    return call


def test_given_bridged_call_without_recording_then_mixmonitor_with_both_directions_by_date() -> None:
    call = talking_call()
    assert call.state is CallState.TALKING
    action = RecordingPolicy("/var/spool/asterisk/monitor").start_action(call)
    assert action is not None and action.name == "MixMonitor"
    assert action.header("Channel") == call.caller.channel
    file = action.header("File")
    assert file.startswith("/var/spool/asterisk/monitor/2026/11/22/") and file.endswith("-mixed.wav")
    options = action.header("Options")
    assert options.startswith("r(") and "-customer.wav)t(" in options and options.endswith("-agent.wav)")


def test_given_recording_already_running_or_call_not_talking_then_no_second_mixmonitor() -> None:
    call = talking_call()
    call.recordings.append("/x.wav")
    assert RecordingPolicy().start_action(call) is None
    call.recordings.clear()
    call.state = CallState.QUEUED
    assert RecordingPolicy().start_action(call) is None
    assert RecordingPolicy(enabled=False).start_action(talking_call()) is None


def write_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8))) for i in range(int(seconds * rate))))


def test_inspect_measures_real_recordings_and_flags_bad_ones(tmp_path: Path) -> None:
    real = inspect_recording(LAB / "recordings" / "refund-call-customer.wav")
    assert real.status == "final" and real.duration_s is not None and real.duration_s > 20
    assert real.sha256 is not None and len(real.sha256) == 64
    assert inspect_recording(tmp_path / "nope.wav").status == "missing"
    header_only = tmp_path / "empty.wav"
    write_wav(header_only, 0)
    assert inspect_recording(header_only).status == "empty"
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not a wav at all" * 10)
    assert inspect_recording(garbage).status == "empty"


def test_path_mapper_refuses_paths_outside_the_monitor_dir(tmp_path: Path) -> None:
    mapper = path_mapper("/var/spool/asterisk/monitor", str(tmp_path))
    assert mapper("/var/spool/asterisk/monitor/2026/a.wav") == tmp_path / "2026" / "a.wav"
    assert not mapper("/etc/passwd").exists()
    assert not mapper("/var/spool/asterisk/monitor/../../../../etc/passwd").exists()


async def test_registry_finalises_present_files_and_flags_missing_ones(pool: asyncpg.Pool, tmp_path: Path) -> None:
    tracker = CallTracker()
    recorder = CallRecorder(tracker, EventLogWriter(pool), CallStore(pool))
    dispatcher = CallDispatcher(tracker, recorder)
    for event, action, action_id, at in events_and_actions(capture("ivr_route_record")):
        if event is not None:
            dispatcher.on_ami_event(event)
        elif action is not None:
            dispatcher.on_action(action, action_id, at)
    await recorder.flush()
    rows = await pool.fetch("SELECT path FROM recordings ORDER BY id")
    assert len(rows) == 3
    local = path_mapper("/var/spool/asterisk/monitor", str(tmp_path))
    write_wav(local(rows[0]["path"]), 3.0)
    write_wav(local(rows[1]["path"]), 0.0)
    registry = RecordingRegistry(pool, local, grace_s=0)
    assert await registry.sweep() == 3
    status = {r["path"]: (r["status"], r["duration_s"]) for r in
              await pool.fetch("SELECT path, status, duration_s FROM recordings")}
    assert status[rows[0]["path"]] == ("final", 3.0)
    assert status[rows[1]["path"]][0] == "empty"
    assert status[rows[2]["path"]][0] == "missing"
    assert await registry.sweep() == 0


def test_a_wav_file_whose_header_is_not_written_yet_is_open_not_empty(tmp_path: Path) -> None:
    from callcenter.recording.registry import inspect_recording, wav_closed
    from callcenter.simulator.recorder import write_open_header

    path = tmp_path / "x.wav"
    write_open_header(path)
    with open(path, "ab") as fh:
        fh.write(b"\x01\x00" * 8000)  # a second of audio written, the file not closed yet
    assert not wav_closed(path, path.stat().st_size)
    assert inspect_recording(path).status == "open"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x01\x00" * 8000)
    facts = inspect_recording(path)
    assert facts.status == "final" and facts.duration_s == 1.0


async def test_a_call_being_recorded_gets_one_follow_job_and_an_ended_call_none(pool: asyncpg.Pool,
                                                                                 tmp_path: Path) -> None:
    from callcenter.jobs.queue import JobQueue

    await pool.execute("TRUNCATE jobs, calls, recordings CASCADE")
    live, ended = [int(await pool.fetchval(
        "INSERT INTO calls (linkedid, state, arrived_at, ended_at) VALUES ($1, 'talking', now(),"
        " CASE WHEN $2 THEN now() END) RETURNING id", linkedid, over)) for linkedid, over in
        (("1700000500.1", False), ("1700000600.1", True))]
    for call_id in (live, ended):
        for kind in ("customer", "agent", "mixed"):
            await pool.execute("INSERT INTO recordings (call_id, kind, path, started_at) VALUES ($1, $2, $3, now())",
                               call_id, kind, f"/var/spool/asterisk/monitor/{call_id}-{kind}.wav")
    local = path_mapper("/var/spool/asterisk/monitor", str(tmp_path))
    registry = RecordingRegistry(pool, local, grace_s=3600, queue=JobQueue(pool), follow=True)
    await registry.sweep()
    await registry.sweep()
    jobs = [(r["kind"], r["key"]) for r in await pool.fetch("SELECT kind, key FROM jobs ORDER BY id")]
    assert jobs == [("asr", f"follow:{live}")]
    quiet = RecordingRegistry(pool, local, grace_s=3600, queue=JobQueue(pool), follow=False)
    await pool.execute("TRUNCATE jobs")
    await quiet.sweep()
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 0
