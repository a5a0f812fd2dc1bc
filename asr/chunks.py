"""Transcribing a track while it is still being recorded: which of its speech segments are
final already, and which decoded ones the after-call pass can take as they are (pure).

A recording grows while the call goes on. The voice-activity gate (:mod:`asr.vad`) run over
what is written so far finds the same segments as over the whole file, except near the end:
the last stretch of talk may still go on, or speech within ``join_s`` may still join it. So a
segment is *closed* once more than ``join_s`` (plus a frame) of audio follows its last speech
frame. Closed segments are decoded during the call; after hang-up the gate runs over the whole
file and every segment with the same bounds as a decoded one is taken as it is; the others are
decoded then: the tail, and any segment whose bounds moved because the track's noise floor (and
so the gate's threshold) moved as the file grew. Bounds a frame apart are another segment: the
recognizer given 30 ms more or less of audio may hear other words, and the stored transcript is
always the one a decode of the whole file gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from asr.vad import FRAME_S, Segment, speech_segments

JOIN_S = 0.8
PAD_S = 0.2
# bounds this close are the same segment: the rounding of stored times (to the millisecond);
# bounds on the gate's frame grid that differ at all are FRAME_S apart
TOLERANCE_S = 0.002


@dataclass(frozen=True, slots=True)
class Decoded:
    """A segment decoded during the call: ``result`` is what the after-call pass stores for it
    (None when it held no speech)."""

    segment: Segment
    result: dict[str, Any] | None


def closed_segments(samples: np.ndarray, rate: int, *, join_s: float = JOIN_S, pad_s: float = PAD_S
                    ) -> list[Segment]:
    """The speech segments of the audio written so far that later audio cannot change."""
    total = samples.size / rate
    return [s for s in speech_segments(samples, rate, join_s=join_s, pad_s=pad_s)
            if is_closed(s, total, join_s=join_s, pad_s=pad_s)]


def is_closed(segment: Segment, total_s: float, *, join_s: float = JOIN_S, pad_s: float = PAD_S) -> bool:
    """Whether ``total_s`` seconds of track are enough that later audio cannot change ``segment``."""
    return segment.end - pad_s + join_s + FRAME_S < total_s


def find(segment: Segment, decoded: Sequence[Decoded]) -> Decoded | None:
    """The decoded segment with the same bounds (to the rounding of stored times), if any."""
    for done in decoded:
        if abs(done.segment.start - segment.start) <= TOLERANCE_S \
                and abs(done.segment.end - segment.end) <= TOLERANCE_S:
            return done
    return None


def to_decode(segments: Sequence[Segment], decoded: Sequence[Decoded], budget_s: float) -> list[Segment]:
    """The segments not decoded yet, in order, as many as fit ``budget_s`` seconds of audio
    (at least one): a job stays short, so a call that has ended never waits long behind one."""
    out: list[Segment] = []
    total = 0.0
    for segment in segments:
        if find(segment, decoded) is not None:
            continue
        if out and total + segment.duration > budget_s:
            break
        out.append(segment)
        total += segment.duration
    return out


def merged(done: Sequence[Decoded], new: Sequence[Decoded]) -> list[Decoded]:
    """``done`` and ``new`` in order of start, less every ``done`` segment that overlaps a new
    one: that is the same talk decoded again because its bounds moved (a track's segments never
    overlap), and the old decode can never be taken again."""
    kept = [d for d in done if not any(d.segment.start < n.segment.end and n.segment.start < d.segment.end
                                       for n in new)]
    return sorted([*kept, *new], key=lambda d: d.segment.start)


def to_json(decoded: Sequence[Decoded]) -> list[list[Any]]:
    return [[round(d.segment.start, 3), round(d.segment.end, 3), d.result] for d in decoded]


def from_json(rows: Any) -> list[Decoded]:
    """Decoded segments as :func:`to_json` wrote them; anything malformed is left out (decoded
    again after the call)."""
    out: list[Decoded] = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, list) and len(row) == 3 and all(isinstance(v, int | float) for v in row[:2]) \
                and (row[2] is None or isinstance(row[2], dict)):
            out.append(Decoded(Segment(float(row[0]), float(row[1])), row[2]))
    return out
