"""Reading call audio for the recognizer: 16-bit PCM WAV at 8 or 16 kHz, mono per speaker or
one stereo file (a speaker per channel). Anything else is refused with a clear reason."""

from __future__ import annotations

import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATES = (8000, 16000)
SILENCE_RMS = 40.0  # below this (16-bit full scale 32767) a whole file counts as silent


class AudioError(ValueError):
    """The audio cannot be transcribed: the message says why (empty, truncated, corrupt...)."""


@dataclass(frozen=True, slots=True)
class Audio:
    """One channel of 16-bit little-endian PCM."""

    pcm: bytes
    rate: int

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / self.rate

    def is_silent(self) -> bool:
        if not self.pcm:
            return True
        samples = np.frombuffer(self.pcm, dtype="<i2").astype(np.float64)
        return float(np.sqrt(np.mean(samples * samples))) < SILENCE_RMS


def read_wav(path: Path) -> list[Audio]:
    """The channels of a WAV file (one for mono, two for stereo).

    Raises:
        AudioError: missing, empty, not a WAV, not 16-bit PCM, a rate other than 8/16 kHz,
            more than two channels, or shorter than its header says (truncated).
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AudioError(f"{path.name}: file not found") from None
    if size == 0:
        raise AudioError(f"{path.name}: empty file")
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            declared = wav.getnframes()
            data = wav.readframes(declared)
    except (wave.Error, EOFError, RuntimeError, ValueError, struct.error) as exc:
        # the wave module signals some corrupt chunk layouts with RuntimeError/struct.error
        raise AudioError(f"{path.name}: not a readable WAV file ({exc or type(exc).__name__})") from None
    if width != 2:
        raise AudioError(f"{path.name}: {8 * width}-bit samples; 16-bit PCM is needed")
    if rate not in RATES:
        raise AudioError(f"{path.name}: {rate} Hz; 8000 or 16000 Hz is needed")
    if channels not in (1, 2):
        raise AudioError(f"{path.name}: {channels} channels; mono or stereo is needed")
    frame = width * channels
    if len(data) < declared * frame:
        raise AudioError(f"{path.name}: truncated ({len(data) // frame} of {declared} frames)")
    if declared == 0:
        raise AudioError(f"{path.name}: no audio (header only)")
    if channels == 1:
        return [Audio(data, rate)]
    samples = np.frombuffer(data, dtype="<i2").reshape(-1, 2)
    return [Audio(samples[:, 0].tobytes(), rate), Audio(samples[:, 1].tobytes(), rate)]
