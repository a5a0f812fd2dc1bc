"""Following a growing recording a part at a time (no model): each turn reads the samples added
since the last one and the talk not closed yet, never the whole file, finds the segments a
whole read finds, and goes on from the state kept in the job's payload after a restart."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from asr import chunks
from asr.growing import GrowingWav
from asr.tracking import TrackState, Turn, advance

RATE = 8000
HEADER = 44


def talk(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A voiced stretch: harmonics of 140 Hz, loud over the line noise."""
    t = np.arange(int(seconds * RATE)) / RATE
    voice = np.sum([np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12)], axis=0)
    out: np.ndarray = 4000 * voice * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + rng.normal(0, 30, t.size)
    return out


def call(minutes: float, seed: int = 7) -> np.ndarray:
    """One speaker's track: talk of 1-4 s, pauses of 1.5-6 s, line noise in between."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    while sum(p.size for p in parts) < minutes * 60 * RATE:
        parts.append(rng.normal(0, 30, int(rng.uniform(1.5, 6.0) * RATE)))
        parts.append(talk(rng.uniform(1.0, 4.0), rng))
    out: np.ndarray = np.clip(np.concatenate(parts), -32768, 32767).astype("<i2")
    return out[: int(minutes * 60 * RATE)]


def open_header() -> bytes:
    """What MixMonitor writes first: the RIFF and ``data`` sizes still 0 (filled in at close)."""
    return (b"RIFF" + b"\0\0\0\0" + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, 2 * RATE, 2, 16)
            + b"data" + b"\0\0\0\0")


def grow(path: Path, samples: np.ndarray) -> None:
    with open(path, "ab") as fh:
        fh.write(samples.tobytes())


def settle_all(turn: Turn, done: list[chunks.Decoded]) -> list[chunks.Decoded]:
    """Every closed segment counts as decoded (the recognizer is not what is tested here)."""
    done += [chunks.Decoded(s, None) for s in turn.closed if chunks.find(s, done) is None]
    return done


def test_given_a_growing_file_when_followed_each_turn_reads_what_was_added_and_finds_the_whole_read_segments(
        tmp_path: Path) -> None:
    track = call(10.0)
    path = tmp_path / "1700000000.1-customer.wav"
    path.write_bytes(open_header())
    step = 3 * RATE  # a turn every 3 s (asr.follow_s)
    state: TrackState | None = None
    done: list[chunks.Decoded] = []
    per_turn: list[int] = []
    for written in range(step, track.size + 1, step):
        grow(path, track[written - step:written])
        source = GrowingWav(path)
        turn = advance(source, str(path), state)
        assert turn is not None
        done = settle_all(turn, done)
        state = turn.settle(done)
        per_turn.append(source.bytes_read)
        whole = chunks.closed_segments(track[:written], RATE)
        assert [(s.start, s.end) for s in whole] == [(d.segment.start, d.segment.end) for d in done]
    # a turn reads the 3 s added and the talk still open before them (at most 4 s here, with
    # the pause that may still join it before, the second that closes it after, its padding):
    # never the whole file (9.6 MB at the end)
    assert max(per_turn) <= 2 * (3 + 4 + 2.5) * RATE
    assert sum(per_turn) < 3 * path.stat().st_size
    whole_reads = sum(HEADER + 2 * written for written in range(step, track.size + 1, step))
    assert sum(per_turn) * 20 < whole_reads


def test_given_the_state_kept_in_the_payload_when_a_new_worker_goes_on_it_reads_only_the_rest(
        tmp_path: Path) -> None:
    track = call(2.0, seed=3)
    path = tmp_path / "1700000001.1-agent.wav"
    path.write_bytes(open_header())
    grow(path, track[: 60 * RATE])
    turn = advance(GrowingWav(path), str(path), None)
    assert turn is not None
    done = settle_all(turn, [])
    saved = json.loads(json.dumps(turn.settle(done).to_json()))  # the job's payload, as stored
    grow(path, track[60 * RATE:])
    restarted = GrowingWav(path)
    state = TrackState.from_json(saved)
    assert state is not None and state.frames == 2000 and state.start > 1900
    after = advance(restarted, str(path), state)
    assert after is not None
    assert restarted.bytes_read <= 2 * (60 + 2) * RATE + 200, "the first minute is not read again"
    done = settle_all(after, done)
    assert [(d.segment.start, d.segment.end) for d in done] == \
        [(s.start, s.end) for s in chunks.closed_segments(track, RATE)]


def test_given_a_header_whose_sizes_are_stale_the_audio_runs_to_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "stale.wav"
    header = bytearray(open_header())
    header[4:8] = struct.pack("<I", 36 + 1600)  # updated once, after 0.1 s, then not again
    header[40:44] = struct.pack("<I", 1600)
    path.write_bytes(bytes(header) + np.arange(8000, dtype="<i2").tobytes())
    layout = GrowingWav(path).layout()
    assert layout is not None and (layout.data_start, layout.rate, layout.samples) == (HEADER, RATE, 8000)
    closed = tmp_path / "closed.wav"
    header[4:8] = struct.pack("<I", 36 + 1600 + 8 + 4)
    closed.write_bytes(bytes(header) + np.arange(800, dtype="<i2").tobytes() + b"LIST" + b"\0" * 8)
    layout = GrowingWav(closed).layout()
    assert layout is not None and layout.samples == 800, "a closed file: its declared size, no trailing chunk"


def test_a_state_that_does_not_fit_the_file_starts_over(tmp_path: Path) -> None:
    track = call(1.0, seed=5)
    path = tmp_path / "x.wav"
    path.write_bytes(open_header())
    grow(path, track)
    turn = advance(GrowingWav(path), str(path), None)
    assert turn is not None
    state = turn.settle(settle_all(turn, []))
    path.write_bytes(open_header())
    grow(path, track[: RATE])  # the file was replaced by a shorter one
    again = advance(GrowingWav(path), str(path), state)
    assert again is not None and again.state.frames == RATE // 240 and again.first == 0
    assert TrackState.from_json({"path": "x", "levels": "!!"}) is None
    assert advance(GrowingWav(tmp_path / "missing.wav"), "missing", None) is None
