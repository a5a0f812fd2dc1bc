"""Cutting one speaker's track into speech segments (an energy gate with a noise floor).

Per-speaker call recordings are mostly silence (the other party is talking); Whisper invents
words on silence and loses speech after long silent stretches, so it is only ever given the
segments found here. A frame (30 ms) is speech when its level is above both an absolute floor
and the track's own noise floor (its quietest tenth) by a margin: steady noise (line hiss, hum,
comfort noise) never opens the gate however loud it is. A segment must also hold voiced frames
(a harmonic spectrum in the telephone band, spectral flatness below ``VOICED_FLATNESS``): hiss,
crackle and clicks are flat and are dropped. Segments closer than ``join_s`` are
joined (one utterance per stretch of talk), padded by ``pad_s``, and cut below ``max_s`` at
their quietest frame so that each fits Whisper's 30-second window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_S = 0.03
ABSOLUTE_DB = -50.0  # dBFS: below this a frame is never speech
MARGIN_DB = 12.0  # above the track's noise floor
FLOOR_PERCENTILE = 10.0
VOICED_FLATNESS = 0.3  # white noise is near 1, vowels near 0
MIN_VOICED_S = 0.15
BAND_HZ = (250.0, 3400.0)


@dataclass(frozen=True, slots=True)
class Segment:
    start: float  # seconds
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def frame_levels(samples: np.ndarray, rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """Each frame's level in dB relative to 16-bit full scale."""
    n = max(1, int(rate * frame_s))
    count = samples.size // n
    if count == 0:
        return np.zeros(0)
    frames = samples[: count * n].reshape(count, n)
    out = np.empty(count)
    block = 20000  # frames at a time: an hour-long track never becomes one float64 copy
    for i in range(0, count, block):
        part = frames[i:i + block].astype(np.float32) / 32768.0
        out[i:i + block] = np.mean(part * part, axis=1, dtype=np.float64)
    return 10.0 * np.log10(out + 1e-12)


def spectral_flatness(samples: np.ndarray, rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """Each frame's spectral flatness in the telephone band (geometric / arithmetic mean power)."""
    n = max(8, int(rate * frame_s))
    count = samples.size // n
    if count == 0:
        return np.zeros(0)
    frames = samples[: count * n].astype(np.float64).reshape(count, n) * np.hanning(n)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-9
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    band = power[:, (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])]
    if band.shape[1] == 0:
        return np.ones(count)
    return np.asarray(np.exp(np.log(band).mean(axis=1)) / band.mean(axis=1))


def speech_segments(samples: np.ndarray, rate: int, *, join_s: float = 0.8, pad_s: float = 0.2,
                    min_speech_s: float = 0.25, max_s: float = 28.0) -> list[Segment]:
    """The speech segments of 16-bit samples at ``rate`` Hz, in order."""
    levels = frame_levels(samples, rate)
    if levels.size == 0:
        return []
    return gate(samples, rate, levels, threshold_of(levels), samples.size / rate, join_s=join_s, pad_s=pad_s,
                min_speech_s=min_speech_s, max_s=max_s)


def threshold_of(levels: np.ndarray) -> float:
    """The gate's level (dB) for a track whose frames have these ``levels``."""
    return max(ABSOLUTE_DB, float(np.percentile(levels, FLOOR_PERCENTILE)) + MARGIN_DB)


@dataclass(frozen=True, slots=True)
class Group:
    """A stretch of talk: active frames ``[start, end)`` of the track joined across short
    pauses, and its segments (none when it was too short or not voice)."""

    start: int
    end: int
    segments: tuple[Segment, ...]


def gate(samples: np.ndarray, rate: int, levels: np.ndarray, threshold: float, total_s: float, *,
         first_frame: int = 0, join_s: float = 0.8, pad_s: float = 0.2, min_speech_s: float = 0.25,
         max_s: float = 28.0) -> list[Segment]:
    """The speech segments of a stretch of a track (see :func:`groups`)."""
    return [segment for group in groups(samples, rate, levels, threshold, total_s, first_frame=first_frame,
                                        join_s=join_s, pad_s=pad_s, min_speech_s=min_speech_s, max_s=max_s)
            for segment in group.segments]


def groups(samples: np.ndarray, rate: int, levels: np.ndarray, threshold: float, total_s: float, *,
           first_frame: int = 0, join_s: float = 0.8, pad_s: float = 0.2, min_speech_s: float = 0.25,
           max_s: float = 28.0) -> list[Group]:
    """The stretches of talk of a stretch of a track: ``samples`` start at frame ``first_frame``
    of the track (``levels`` are theirs), ``threshold`` and ``total_s`` (the track's length,
    which caps the last segment's padding) are the whole track's. Frames and times are the track's."""
    active = levels > threshold
    if not active.any():
        return []
    # runs of active frames
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    join = round(join_s / FRAME_S)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= join:
            merged[-1][1] = b
            merged[-1][2] += b - a
        else:
            merged.append([a, b, b - a])
    n = max(1, int(rate * FRAME_S))
    out: list[Group] = []
    for a, b, speech in merged:
        out.append(Group(a + first_frame, b + first_frame,
                         _segments(samples, rate, levels, active, a, b, speech, first_frame, total_s, n,
                                   pad_s, min_speech_s, max_s)))
    return out


def _segments(samples: np.ndarray, rate: int, levels: np.ndarray, active: np.ndarray, a: int, b: int,
              speech: int, first_frame: int, total_s: float, n: int, pad_s: float, min_speech_s: float,
              max_s: float) -> tuple[Segment, ...]:
    if speech * FRAME_S < min_speech_s:
        return ()
    flatness = spectral_flatness(samples[a * n:b * n], rate)
    voiced = int(np.count_nonzero(active[a:b][: flatness.size] & (flatness < VOICED_FLATNESS)))
    if voiced * FRAME_S < MIN_VOICED_S:
        return ()  # loud but not voice: hiss, crackle, clicks
    out = []
    for lo, hi in _split(levels, a, b, round(max_s / FRAME_S)):
        lo, hi = lo + first_frame, hi + first_frame
        out.append(Segment(max(0.0, lo * FRAME_S - pad_s), min(total_s, hi * FRAME_S + pad_s)))
    return tuple(out)


def _split(levels: np.ndarray, a: int, b: int, limit: int) -> list[tuple[int, int]]:
    """Frames [a, b) cut at their quietest frame until every piece is at most ``limit`` long."""
    if b - a <= limit:
        return [(a, b)]
    lo = a + limit // 2
    cut = lo + int(np.argmin(levels[lo:a + limit]))
    return [(a, cut), *_split(levels, cut, b, limit)]
