"""Bytes a speech-to-text follow turn reads from a growing recording, incremental vs whole file.

    python benchmarks/asr_follow_io.py [--minutes 10] [--turn-s 3]

A synthetic one-speaker track (voiced talk of 1-4 s, pauses of 1.5-6 s, line noise) is written
as MixMonitor writes it (an open WAV header, audio appended), a turn every ``--turn-s`` seconds
as ``asr.follow_s`` does. Each turn reads it as the worker does (:func:`asr.tracking.advance`
on :class:`asr.growing.GrowingWav`, every closed segment counted as decoded: no model runs), and
the bytes it read are counted; the whole-file read (what a turn read before) is the header and
all the audio written by then. Also checks that the segments found equal the whole-file gate's.

Prints one JSON line: {"minutes", "turns", "incremental": {"max_bytes_per_turn",
"mean_bytes_per_turn", "last_turn_bytes", "total_bytes"}, "whole_file": {...}, "ratio_total",
"ratio_last_turn", "state_bytes" (the read state in the job's payload at the end, as JSON),
"same_segments", "segments" (the whole file's closed segments), "decoded_during_call" (segments
decoded while it grew, counting one decoded again when its bounds moved), "reused_after_call"
(the whole file's segments the after-call pass takes as they are: same bounds)}.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr import chunks
from asr.growing import GrowingWav
from asr.tracking import TrackState, advance

RATE = 8000
HEADER = (b"RIFF\0\0\0\0WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, 2 * RATE, 2, 16)
          + b"data\0\0\0\0")


def track(minutes: float, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    while sum(p.size for p in parts) < minutes * 60 * RATE:
        parts.append(rng.normal(0, 30, int(rng.uniform(1.5, 6.0) * RATE)))
        t = np.arange(int(rng.uniform(1.0, 4.0) * RATE)) / RATE
        voice = np.sum([np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12)], axis=0)
        parts.append(4000 * voice * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + rng.normal(0, 30, t.size))
    out: np.ndarray = np.clip(np.concatenate(parts), -32768, 32767).astype("<i2")
    return out[: int(minutes * 60 * RATE)]


def stats(per_turn: list[int]) -> dict[str, Any]:
    return {"max_bytes_per_turn": max(per_turn), "mean_bytes_per_turn": round(sum(per_turn) / len(per_turn)),
            "last_turn_bytes": per_turn[-1], "total_bytes": sum(per_turn)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--turn-s", type=float, default=3.0)
    args = parser.parse_args()
    samples = track(args.minutes)
    step = int(args.turn_s * RATE)
    incremental: list[int] = []
    whole: list[int] = []
    state: TrackState | None = None
    done: list[chunks.Decoded] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "call-customer.wav"
        path.write_bytes(HEADER)
        for written in range(step, samples.size + 1, step):
            with open(path, "ab") as fh:
                fh.write(samples[written - step:written].tobytes())
            source = GrowingWav(path)
            turn = advance(source, str(path), state)
            assert turn is not None
            done += [chunks.Decoded(s, None) for s in turn.closed if chunks.find(s, done) is None]
            state = turn.settle(done)
            incremental.append(source.bytes_read)
            whole.append(len(HEADER) + 2 * written)
    assert state is not None
    final = chunks.closed_segments(samples[: len(whole) * step], RATE)
    same = [(s.start, s.end) for s in final] == [(d.segment.start, d.segment.end) for d in done]
    reused = sum(chunks.find(s, done) is not None for s in final)
    print(json.dumps({
        "minutes": args.minutes, "turns": len(whole), "incremental": stats(incremental), "whole_file": stats(whole),
        "ratio_total": round(sum(whole) / sum(incremental), 1),
        "ratio_last_turn": round(whole[-1] / incremental[-1], 1),
        "state_bytes": len(json.dumps(state.to_json())), "same_segments": same,
        "segments": len(final), "decoded_during_call": len(done), "reused_after_call": reused}))


if __name__ == "__main__":
    main()
