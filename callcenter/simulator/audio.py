"""Who said what, when: the audio history the MixMonitor recordings are rendered from.

Nothing is recorded in real time. The PBX notes each utterance (a scripted party's speech, a
prompt played to a channel) with its simulated start time, and each bridge membership with its
simulated span; a recording is rendered from that history a part at a time as it grows (each
part once, appended: :mod:`callcenter.simulator.recorder`). So a recording holds exactly as many
samples as simulated seconds passed, whatever the time scale.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from callcenter.simulator.sounds import RATE


@dataclass(eq=False)
class Segment:
    """Audio that starts at ``start``; ``end`` may be cut short (hang-up, interrupted prompt)."""

    channel: str
    start: float
    samples: array[int]
    kind: str  # "speech": comes out of ``channel``; "prompt": played to ``channel``
    end: float = 0.0

    def __post_init__(self) -> None:
        if not self.end:
            self.end = self.start + len(self.samples) / RATE

    def cut(self, at: float) -> None:
        self.end = max(self.start, min(self.end, at))


@dataclass(eq=False)
class Membership:
    channel: str
    bridge: str
    start: float
    end: float | None = None


@dataclass
class AudioLog:
    segments: list[Segment] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)

    def speech(self, channel: str, start: float, samples: array[int]) -> Segment:
        segment = Segment(channel, start, samples, "speech")
        self.segments.append(segment)
        return segment

    def prompt(self, channel: str, start: float, samples: array[int]) -> Segment:
        segment = Segment(channel, start, samples, "prompt")
        self.segments.append(segment)
        return segment

    def cut_channel(self, channel: str, at: float) -> None:
        """The channel is gone: nothing more comes out of it or is played to it."""
        for segment in self.segments:
            if segment.channel == channel and segment.end > at:
                segment.cut(at)

    def enter(self, channel: str, bridge: str, at: float) -> None:
        self.memberships.append(Membership(channel, bridge, at))

    def leave(self, channel: str, at: float) -> None:
        for member in self.memberships:
            if member.channel == channel and member.end is None:
                member.end = at

    def heard_by(self, channel: str, start: float, stop: float
                 ) -> tuple[list[tuple[Segment, float, float]], list[tuple[Segment, float, float]]]:
        """Pieces of audio read from / written to ``channel`` within ``[start, stop]``.

        Returns ``(read, written)``, each a list of ``(segment, from, to)``.
        """
        read: list[tuple[Segment, float, float]] = []
        written: list[tuple[Segment, float, float]] = []
        mine = [m for m in self.memberships if m.channel == channel]
        for segment in self.segments:
            lo, hi = max(start, segment.start), min(stop, segment.end)
            if hi <= lo:
                continue
            if segment.channel == channel:
                (read if segment.kind == "speech" else written).append((segment, lo, hi))
                continue
            if segment.kind != "speech":
                continue
            for own in mine:
                for other in self.memberships:
                    if other.channel != segment.channel or other.bridge != own.bridge:
                        continue
                    a = max(lo, own.start, other.start)
                    b = min(hi, own.end if own.end is not None else hi,
                            other.end if other.end is not None else hi)
                    if b > a:
                        written.append((segment, a, b))
        return read, written

    def prune(self, keep_after: float) -> None:
        """Forget audio and memberships that ended before ``keep_after``."""
        self.segments = [s for s in self.segments if s.end >= keep_after]
        self.memberships = [m for m in self.memberships if m.end is None or m.end >= keep_after]


def render(start: float, stop: float, pieces: list[tuple[Segment, float, float]],
           muted: list[tuple[float, float]]) -> array[int]:
    """One track: ``(stop - start)`` seconds at 8 kHz, pieces summed, muted spans silent.

    Vectorised: a busy simulator renders many long recordings at once, and a per-sample
    Python loop would stall its event loop (and the AMI link) for seconds."""
    length = max(0, round((stop - start) * RATE))
    out = np.zeros(length, dtype=np.int32)
    for segment, lo, hi in pieces:
        first = round((lo - start) * RATE)
        offset = round((lo - segment.start) * RATE)
        if first < 0:
            offset, first = offset - first, 0
        count = min(round((hi - lo) * RATE), length - first, len(segment.samples) - offset)
        if count > 0 and offset >= 0:
            samples = np.frombuffer(segment.samples, dtype=np.int16)
            out[first:first + count] += samples[offset:offset + count]
    for lo, hi in muted:
        a, b = max(0, round((lo - start) * RATE)), min(length, round((hi - start) * RATE))
        if b > a:
            out[a:b] = 0
    return array("h", np.clip(out, -32768, 32767).astype(np.int16).tobytes())


def mix(a: array[int], b: array[int]) -> array[int]:
    total = np.frombuffer(a, dtype=np.int16).astype(np.int32) + np.frombuffer(b, dtype=np.int16)
    return array("h", np.clip(total, -32768, 32767).astype(np.int16).tobytes())
