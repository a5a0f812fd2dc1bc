from __future__ import annotations

import wave
from pathlib import Path

from callcenter.demo.voices import AGENT_LINES, CUSTOMER_LINES, ensure_voices


def test_voices_are_real_8khz_speech_made_once(tmp_path: Path) -> None:
    made = ensure_voices(tmp_path)
    assert len(made) == len(AGENT_LINES) + len(CUSTOMER_LINES)
    for path in made.values():
        with wave.open(str(path)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert wav.getnframes() / 8000 > 1.0
    stamp = {p: p.stat().st_mtime_ns for p in made.values()}
    ensure_voices(tmp_path)
    assert {p: p.stat().st_mtime_ns for p in made.values()} == stamp
