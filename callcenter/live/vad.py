"""Cutting one speaker's live audio into utterances as they end (pure: samples in, segments out).

The same idea as the post-call gate (``asr.vad``), made incremental: a 20 ms frame is speech when
its level is above an absolute floor and above the stream's noise floor (the quietest tenth of
its last 5 s) by a margin, so steady line noise never keeps the gate open; an utterance must
also hold voiced frames (a harmonic spectrum: hiss and clicks are flat). An utterance starts at
the first speech frame (with ``pre_s`` of lead-in) and ends after ``hangover_s`` without
speech; once it is ``soft_s`` long a short pause (``soft_hangover_s``: a comma, a breath) ends
it, and it is cut at ``max_s``: a long turn reaches the screen phrase by phrase, each decoded in
well under a second, instead of all at once when the speaker stops. It is kept only when it
holds ``min_speech_s`` of speech, and dropped when it is a tone: DTMF and dial or busy tones put
nearly all of a frame's power into a handful of frequency bins, speech never does.

It runs on the server's event loop for every spied leg, so frames are measured in batches of
``BATCH_FRAMES`` (one numpy pass each, the noise floor once a batch): an utterance's end is seen
at most a batch later.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

RATE = 8000
FRAME = 160  # samples: 20 ms at 8 kHz
FRAME_S = FRAME / RATE
FRAME_BYTES = FRAME * 2
BATCH_FRAMES = 8  # measured together: 160 ms, so numpy runs a few times a second, not 50
ABSOLUTE_DB = -45.0
MARGIN_DB = 12.0
FLOOR_FRAMES = 250  # the noise floor is the quietest tenth of the last 5 s
FLOOR_PERCENTILE = 10.0
VOICED_FLATNESS = 0.3  # white noise is near 1, vowels near 0
MIN_VOICED_S = 0.15
TONE_BINS = 6
TONE_SHARE = 0.85  # share of the band's power in the top bins above which a frame is a tone
_WINDOW = np.hanning(FRAME)


@dataclass(frozen=True, slots=True)
class VadConfig:
    hangover_s: float = 0.45
    pre_s: float = 0.2
    min_speech_s: float = 0.25
    soft_s: float = 4.0  # past this, a shorter pause (a comma, a breath) ends the utterance
    soft_hangover_s: float = 0.15
    max_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Utterance:
    """One stretch of speech: ``start``/``end`` in seconds from the stream's first sample,
    ``speech_end`` the end of its last speech frame (what "end of speech" means for the lag)."""

    start: float
    end: float
    speech_end: float
    pcm: bytes


@dataclass(frozen=True, slots=True)
class FrameInfo:
    level_db: float
    tone_share: float  # share of the band's power in its strongest bins
    flatness: float  # geometric / arithmetic mean power in the band


def measure(frames: np.ndarray) -> list[FrameInfo]:
    """The level (dBFS), tonal share and spectral flatness of each row of 20 ms frames of 16-bit
    samples (shape ``(n, FRAME)``), computed for all of them at once."""
    x = frames.astype(np.float64) / 32768.0
    levels = 10.0 * np.log10(np.mean(x * x, axis=1) + 1e-12)
    power = np.abs(np.fft.rfft(x * _WINDOW, axis=1)) ** 2 + 1e-12
    band = power[:, 5:71]  # 250-3500 Hz at 50 Hz a bin
    total = band.sum(axis=1)
    shares = np.partition(band, -TONE_BINS, axis=1)[:, -TONE_BINS:].sum(axis=1) / total
    flatness = np.exp(np.log(band).mean(axis=1)) / band.mean(axis=1)
    return [FrameInfo(*row) for row in zip(levels.tolist(), shares.tolist(), flatness.tolist(), strict=True)]


@dataclass
class _Open:
    start_frame: int
    frames: list[bytes]
    speech_frames: int = 0
    tone_frames: int = 0
    voiced_frames: int = 0
    last_speech: int = 0


@dataclass
class Segmenter:
    """One speaker's segmenter; :meth:`feed` any amount of audio, get the utterances that ended."""

    config: VadConfig = field(default_factory=VadConfig)
    frames_seen: int = 0
    dropped_tones: int = 0
    _pending: bytearray = field(default_factory=bytearray)
    _lead: deque[bytes] = field(default_factory=deque)
    _levels: deque[float] = field(default_factory=lambda: deque(maxlen=FLOOR_FRAMES))
    floor_db: float = -70.0
    _open: _Open | None = None

    def feed(self, pcm: bytes) -> list[Utterance]:
        """16-bit little-endian 8 kHz samples in; the utterances that ended in them out. Audio
        is measured ``BATCH_FRAMES`` frames at a time: until that much has come, nothing."""
        self._pending += pcm
        out: list[Utterance] = []
        while len(self._pending) >= BATCH_FRAMES * FRAME_BYTES:  # the same batches however it comes
            out += self._measure(BATCH_FRAMES)
        return out

    def flush(self) -> list[Utterance]:
        """The stream ended: the utterance under way, if it is long enough."""
        out = self._measure(len(self._pending) // FRAME_BYTES)
        current, self._open = self._open, None
        done = self._close(current) if current is not None else None
        return [*out, done] if done is not None else out

    def _measure(self, count: int) -> list[Utterance]:
        """The next ``count`` pending frames, measured at once, through the gate."""
        if count == 0:
            return []
        chunk = bytes(self._pending[:count * FRAME_BYTES])
        del self._pending[:count * FRAME_BYTES]
        infos = measure(np.frombuffer(chunk, dtype="<i2").reshape(count, FRAME))
        # the noise floor once a batch, over the last 5 s with this batch's levels in it
        self._levels.extend(info.level_db for info in infos)
        self.floor_db = float(np.percentile(self._levels, FLOOR_PERCENTILE))
        out: list[Utterance] = []
        for i, info in enumerate(infos):
            done = self._frame(chunk[i * FRAME_BYTES:(i + 1) * FRAME_BYTES], info)
            if done is not None:
                out.append(done)
        return out

    def _frame(self, chunk: bytes, info: FrameInfo) -> Utterance | None:
        speech = info.level_db > max(ABSOLUTE_DB, self.floor_db + MARGIN_DB)
        index = self.frames_seen
        self.frames_seen += 1
        current = self._open
        if current is None:
            if speech:
                current = self._open = _Open(index - len(self._lead), list(self._lead))
            else:
                self._remember(chunk)
                return None
        current.frames.append(chunk)
        if speech:
            current.speech_frames += 1
            current.last_speech = index
            current.tone_frames += info.tone_share > TONE_SHARE
            current.voiced_frames += info.flatness < VOICED_FLATNESS
        silent_for = (index - current.last_speech) * FRAME_S
        length = len(current.frames) * FRAME_S
        enough = self.config.soft_hangover_s if length >= self.config.soft_s else self.config.hangover_s
        if silent_for >= enough or length >= self.config.max_s:
            self._open = None
            return self._close(current)
        return None

    def _remember(self, chunk: bytes) -> None:
        self._lead.append(chunk)
        while len(self._lead) * FRAME_S > self.config.pre_s:
            self._lead.popleft()

    def _close(self, current: _Open) -> Utterance | None:
        self._lead.clear()
        if current.speech_frames * FRAME_S < self.config.min_speech_s:
            return None
        if current.voiced_frames * FRAME_S < MIN_VOICED_S:
            return None  # hiss, crackle, clicks: flat spectra, no voice
        if current.tone_frames > current.speech_frames / 2:
            self.dropped_tones += 1
            return None
        start = current.start_frame * FRAME_S
        return Utterance(round(start, 3), round(start + len(current.frames) * FRAME_S, 3),
                         round((current.last_speech + 1) * FRAME_S, 3), b"".join(current.frames))
