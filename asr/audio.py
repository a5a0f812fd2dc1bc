"""Reading call audio for the recognizer: WAV at 8 or 16 kHz, 16-bit PCM or G.711 (μ-law,
A-law, decoded here to 16-bit), mono per speaker or one stereo file (a speaker per channel).
Anything else is refused with a clear reason."""

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
    channels, width, rate, declared, data = _decode(path)
    _check_format(path.name, channels, width, rate)
    frame = width * channels
    if len(data) < declared * frame:
        raise AudioError(f"{path.name}: truncated ({len(data) // frame} of {declared} frames)")
    if declared == 0:
        raise AudioError(f"{path.name}: no audio (header only)")
    if channels == 1:
        return [Audio(data, rate)]
    samples = np.frombuffer(data, dtype="<i2").reshape(-1, 2)
    return [Audio(samples[:, 0].tobytes(), rate), Audio(samples[:, 1].tobytes(), rate)]


def _decode(path: Path) -> tuple[int, int, int, int, bytes]:
    """(channels, sample width, rate, declared frames, the frames read) of a PCM or G.711 WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            declared = wav.getnframes()
            return channels, width, rate, declared, wav.readframes(declared)
    except wave.Error as exc:
        g711 = _read_g711(path) if "unknown format" in str(exc) else None
        if g711 is None:
            raise AudioError(f"{path.name}: not a readable WAV file ({exc})") from None
        return g711
    except (EOFError, RuntimeError, ValueError, struct.error) as exc:
        # the wave module signals some corrupt chunk layouts with RuntimeError/struct.error
        raise AudioError(f"{path.name}: not a readable WAV file ({exc or type(exc).__name__})") from None


def _check_format(name: str, channels: int, width: int, rate: int) -> None:
    if width != 2:
        raise AudioError(f"{name}: {8 * width}-bit samples; 16-bit PCM is needed")
    if rate not in RATES:
        raise AudioError(f"{name}: {rate} Hz; 8000 or 16000 Hz is needed")
    if channels not in (1, 2):
        raise AudioError(f"{name}: {channels} channels; mono or stereo is needed")


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype("<i2")


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1))
    return np.where(sign, magnitude, -magnitude).astype("<i2")


G711 = {7: _ulaw_table(), 6: _alaw_table()}  # WAVE format tags: 7 = μ-law, 6 = A-law


def _read_g711(path: Path) -> tuple[int, int, int, int, bytes] | None:
    """(channels, 2, rate, frames, 16-bit PCM) of a μ-law/A-law WAV; None when it is not one."""
    raw = path.read_bytes()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        return None
    offset, fmt, data = 12, None, None
    while offset + 8 <= len(raw):
        chunk, size = raw[offset:offset + 4], struct.unpack_from("<I", raw, offset + 4)[0]
        body = raw[offset + 8:offset + 8 + size]
        if chunk == b"fmt " and len(body) >= 16:
            fmt = struct.unpack_from("<HHIIHH", body)
        elif chunk == b"data":
            data = body
            break
        offset += 8 + size + (size & 1)
    if fmt is None or data is None or fmt[0] not in G711 or fmt[5] != 8 or fmt[1] < 1:
        return None
    channels, rate = fmt[1], fmt[2]
    frames = len(data) // channels
    pcm = G711[fmt[0]][np.frombuffer(data[: frames * channels], dtype=np.uint8)].tobytes()
    return channels, 2, rate, frames, pcm
