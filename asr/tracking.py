"""Following one growing track a part at a time: each turn reads only the frames added since
the last turn, plus the stretch the gate may still change (the talk not closed yet).

The gate (:mod:`asr.vad`) over a whole track needs two things from all of it: the noise floor
(the 10th percentile of all frame levels) and, for the talk still going on, the frames since the
last stretch of talk that closed. So a track's progress (:class:`TrackState`, kept in the
``follow:`` job's payload, so that any worker, also after a restart, goes on where the last one
stopped) holds how many frames were read, a histogram of their levels (``BIN_DB`` wide bins:
its size is bounded however long the call, and the floor taken from it is within half a bin of
the exact one, far less than the floor itself moves as the file grows; a segment whose bounds
either moves is decoded again after the call), and ``start``, the
first frame that is not settled. A turn reads samples ``[start, now)`` (less ``PAD_S`` before
it, where a segment's padding reaches), gates them with the whole track's threshold and length,
and settles every stretch of talk that is closed and whose segments are all decoded. The
segments found are the ones the gate finds over the whole track read so far (same levels,
frames and times) for everything after ``start``; the after-call pass gates the whole file
again in any case (:func:`asr.worker.transcribe_reusing`).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from asr import chunks
from asr.growing import Layout, TrackSource
from asr.vad import FRAME_S, Group, Segment, frame_levels, groups, threshold_of

JOIN_FRAMES = round(chunks.JOIN_S / FRAME_S)
BIN_DB = 0.01
LOW_DB, HIGH_DB = -130.0, 10.0  # frame levels lie within (-120 dB is digital silence)
BINS = round((HIGH_DB - LOW_DB) / BIN_DB)


@dataclass(frozen=True, slots=True)
class TrackState:
    """How far one track was read (see the module docstring)."""

    path: str
    data_start: int
    rate: int
    frames: int
    start: int
    histogram: np.ndarray  # frames per level bin (BINS counts)

    @classmethod
    def fresh(cls, path: str, layout: Layout) -> TrackState:
        return cls(path, layout.data_start, layout.rate, 0, 0, np.zeros(BINS, dtype=np.int64))

    def to_json(self) -> dict[str, Any]:
        filled = np.flatnonzero(self.histogram)
        packed = np.concatenate((np.diff(filled, prepend=0), self.histogram[filled])).astype("<u4")
        levels = base64.b64encode(zlib.compress(packed.tobytes())).decode("ascii")
        return {"path": self.path, "data_start": self.data_start, "rate": self.rate, "frames": self.frames,
                "start": self.start, "levels": levels}

    @classmethod
    def from_json(cls, value: Any) -> TrackState | None:
        """None when ``value`` is not a state :meth:`to_json` wrote (the track is read anew)."""
        if not isinstance(value, dict):
            return None
        try:
            packed = np.frombuffer(zlib.decompress(base64.b64decode(value["levels"], validate=True)),
                                   dtype="<u4").astype(np.int64)
            filled, counts = np.cumsum(packed[: packed.size // 2]), packed[packed.size // 2:]
            histogram = np.zeros(BINS, dtype=np.int64)
            histogram[filled] = counts
            state = cls(str(value["path"]), int(value["data_start"]), int(value["rate"]),
                        int(value["frames"]), int(value["start"]), histogram)
        except (KeyError, TypeError, ValueError, IndexError, zlib.error):
            return None
        valid = packed.size % 2 == 0 and 0 <= state.start <= state.frames == int(histogram.sum())
        return state if valid else None


def count_levels(histogram: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``histogram`` with ``levels`` (dB) added."""
    bins = np.clip(((levels - LOW_DB) / BIN_DB).astype(np.int64), 0, BINS - 1)
    return histogram + np.bincount(bins, minlength=BINS)


def threshold(histogram: np.ndarray, frames: int) -> float:
    """The gate's threshold over all ``frames`` frames (:func:`asr.vad.threshold_of`), each
    level taken at the middle of its bin."""
    centres = LOW_DB + (np.arange(BINS) + 0.5) * BIN_DB
    return threshold_of(np.repeat(centres, histogram))


@dataclass(frozen=True, slots=True)
class Turn:
    """One look at a growing track: the talk found after ``state.start`` (``found``) and which
    of its segments are closed, with the samples read (``span``, from sample ``first``)."""

    state: TrackState  # the state after the read (``start`` not moved yet: see :meth:`settle`)
    found: list[Group]
    closed: list[Segment]
    span: np.ndarray
    first: int
    total_s: float

    def clip(self, segment: Segment) -> np.ndarray:
        """The samples a whole-track decode would give the recognizer for ``segment``."""
        rate = self.state.rate
        return self.span[int(segment.start * rate) - self.first:int(segment.end * rate) - self.first]

    def settle(self, decoded: Sequence[chunks.Decoded]) -> TrackState:
        """The state for the next turn: ``start`` past every stretch of talk that is closed and
        decoded, and past the silence after it (but for a pause that may still join)."""
        start = self.state.start
        for group in self.found:
            done = all(chunks.find(s, decoded) is not None for s in group.segments)
            if not (done and _closed(group, self.total_s)):  # the silence before it has settled
                return replace(self.state, start=max(start, group.start - JOIN_FRAMES - 1))
            start = group.end
        return replace(self.state, start=max(start, self.state.frames - JOIN_FRAMES - 1))


def _closed(group: Group, total_s: float) -> bool:
    if group.segments:
        return all(chunks.is_closed(s, total_s) for s in group.segments)
    return group.end * FRAME_S + chunks.JOIN_S + FRAME_S < total_s


def advance(source: TrackSource, path: str, state: TrackState | None) -> Turn | None:
    """Blocking: read what the track added since ``state`` (and the stretch not settled) and
    gate it. A state that no longer fits the file (another file, another header, shorter than
    what was read) starts over from the beginning. None when there is nothing to read (no
    audio yet, or the file changed while it was read).

    Raises:
        UnsupportedTrack: the file is not a mono 16-bit PCM WAV, or its header is broken: it is
            never followed (:mod:`asr.follow`).
    """
    layout = source.layout()
    if layout is None or layout.samples == 0:
        return None
    n = max(1, int(layout.rate * FRAME_S))
    if state is None or (state.path, state.data_start, state.rate) != (path, layout.data_start, layout.rate) \
            or layout.samples < state.frames * n:
        state = TrackState.fresh(path, layout)
    frames = layout.samples // n
    first = max(0, state.start * n - int(chunks.PAD_S * layout.rate) - 2)
    span = source.samples(first, frames * n)
    if span.size != frames * n - first:
        return None  # the file was replaced or cut while it was read: next turn
    window = span[state.start * n - first:]
    levels = frame_levels(window, layout.rate)
    histogram = count_levels(state.histogram, levels[state.frames - state.start:])
    total_s = layout.samples / layout.rate
    found = groups(window, layout.rate, levels, threshold(histogram, frames), total_s,
                   first_frame=state.start, join_s=chunks.JOIN_S, pad_s=chunks.PAD_S) if frames else []
    closed = [s for g in found for s in g.segments if chunks.is_closed(s, total_s)]
    return Turn(replace(state, frames=frames, histogram=histogram), found, closed, span, first, total_s)
