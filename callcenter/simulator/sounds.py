"""Prompts and speech: where a prompt file is, how long it plays, and its samples at 8 kHz.

Durations come from the file itself (a WAV header, or the size of a raw ``.gsm``/``.sln``/
``.ulaw``/``.alaw`` file), the way Asterisk would play it. Samples are 16-bit mono at 8 kHz:
other WAV rates and widths are converted; formats we cannot decode (GSM) give silence of the
right length.
"""

from __future__ import annotations

import functools
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
# Extension -> (bytes per sample, sample rate) for headerless formats Asterisk plays.
_RAW = {".sln": (2, 8000), ".raw": (2, 8000), ".ulaw": (1, 8000), ".alaw": (1, 8000),
        ".sln16": (2, 16000), ".g722": (0.5, 16000)}
EXTENSIONS = (".wav", ".WAV", ".wav16", ".gsm", ".sln", ".sln16", ".ulaw", ".alaw", ".g722", ".raw")


class SoundError(ValueError):
    """An audio file cannot be read (the message names the file)."""


@dataclass(frozen=True, slots=True)
class Sound:
    path: Path
    duration_s: float

    @property
    def samples_8k(self) -> int:
        return round(self.duration_s * RATE)


def find_prompt(name: str, language: str, sound_dirs: Sequence[Path]) -> Sound | None:
    """Find a prompt the way Asterisk does: ``<dir>/<lang>/<name>.<ext>``, then ``<dir>/<name>.<ext>``.

    An absolute ``name`` (``/var/lib/asterisk/sounds/lab/agent-greet``) is looked up as given.
    Returns None when no file exists (the AGI command then fails like Asterisk's).
    """
    if not name or ".." in Path(name).parts:
        return None
    bases = [Path(name)] if Path(name).is_absolute() else [
        d / language / name for d in sound_dirs] + [d / name for d in sound_dirs]
    for base in bases:
        for ext in EXTENSIONS:
            candidate = base.with_name(base.name + ext)
            if candidate.is_file():
                try:
                    return Sound(candidate, duration_of(candidate))
                except SoundError:
                    continue
    return None


def duration_of(path: Path) -> float:
    """Playing time in seconds, from the header (WAV) or the size (raw formats)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".wav", ".wav16"):
            fmt, data_size, fact = _wav_chunks(path)
            return _wav_duration(fmt, data_size, fact, path)
        size = path.stat().st_size
    except OSError as exc:
        raise SoundError(f"{path}: {exc.strerror}") from None
    if suffix == ".gsm":
        return size // 33 * 160 / RATE
    width, rate = _RAW.get(suffix, (2, RATE))
    return size / width / rate


def _wav_chunks(path: Path) -> tuple[tuple[int, int, int, int, int], int, int | None]:
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SoundError(f"{path}: not a RIFF/WAVE file")
    pos, fmt, data_size, fact = 12, None, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt " and len(body) >= 16:
            fmt = (*struct.unpack("<HHIIH", body[:14]), struct.unpack("<H", body[14:16])[0])
        elif cid == b"fact" and len(body) >= 4:
            fact = struct.unpack("<I", body[:4])[0]
        elif cid == b"data":
            data_size = min(size, len(data) - pos - 8)
        pos += 8 + size + (size & 1)
    if fmt is None or data_size is None:
        raise SoundError(f"{path}: WAV without fmt or data chunk")
    code, channels, rate, _, align, bits = fmt
    return (code, channels, rate, align, bits), data_size, fact


def _wav_duration(fmt: tuple[int, int, int, int, int], data_size: int, fact: int | None,
                  path: Path) -> float:
    code, _, rate, align, _ = fmt
    if rate <= 0:
        raise SoundError(f"{path}: sample rate 0")
    if fact is not None and code != 1:
        return fact / rate
    if code == 0x31:  # GSM 6.10 in WAV (WAV49): 65 bytes per 320 samples
        return data_size // 65 * 320 / rate
    return data_size / max(1, align) / rate


@functools.lru_cache(maxsize=256)
def load_pcm(path: Path) -> array[int]:
    """Samples of an audio file as 16-bit mono at 8 kHz (silence for undecodable formats)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".wav", ".wav16"):
            return _load_wav(path)
        raw = path.read_bytes()
    except OSError as exc:
        raise SoundError(f"{path}: {exc.strerror}") from None
    if suffix in (".sln", ".raw"):
        samples = array("h")
        samples.frombytes(raw[: len(raw) // 2 * 2])
        return samples
    if suffix in (".ulaw", ".alaw"):
        table = _ULAW if suffix == ".ulaw" else _ALAW
        return array("h", (table[b] for b in raw))
    return array("h", bytes(2 * round(duration_of(path) * RATE)))


def _load_wav(path: Path) -> array[int]:
    (code, channels, rate, align, bits), data_size, _ = _wav_chunks(path)
    if code not in (1, 0xFFFE) or bits not in (8, 16) or channels < 1:
        return array("h", bytes(2 * round(_wav_duration((code, channels, rate, align, bits),
                                                        data_size, None, path) * RATE)))
    blob = path.read_bytes()
    start = blob.find(b"data") + 8
    body = blob[start:start + data_size]
    if bits == 16:
        frames = array("h")
        frames.frombytes(body[: len(body) // 2 * 2])
    else:
        frames = array("h", ((b - 128) << 8 for b in body))
    mono = frames if channels == 1 else array(
        "h", (sum(frames[i:i + channels]) // channels for i in range(0, len(frames), channels)))
    return mono if rate == RATE else _resample(mono, rate)


def _resample(samples: array[int], rate: int) -> array[int]:
    count = int(len(samples) * RATE / rate)
    step = rate / RATE
    last = len(samples) - 1
    return array("h", (samples[min(last, int(i * step))] for i in range(count)))


def _ulaw(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    value = ((mantissa << 3) + 0x84) << exponent
    value -= 0x84
    return -value if sign else value


def _alaw(byte: int) -> int:
    byte ^= 0x55
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    value = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return value if sign else -value


_ULAW = [_ulaw(b) for b in range(256)]
_ALAW = [_alaw(b) for b in range(256)]
