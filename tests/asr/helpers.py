"""Audio files for the speech-to-text tests."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

LAB = Path(__file__).resolve().parents[3] / "shared" / "asterisk-lab" / "recordings"
if not LAB.is_dir():
    LAB = Path("/work/shared/asterisk-lab/recordings")


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path


def read_samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"), wav.getframerate()
