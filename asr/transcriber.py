"""The vosk recognizer: one shared ``Model``, one ``KaldiRecognizer`` per decode (per thread).

vosk releases the GIL while decoding, so a few threads share one loaded model and use the cores.
Utterances are cut where the speaker pauses (``pause_s`` between words): vosk does not end a
segment on the digital silence that per-speaker call recordings hold while the other party
talks.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asr.audio import Audio
from asr.errors import ModelError

CHUNK_FRAMES = 4000
_LOCK = threading.Lock()


@dataclass(slots=True)
class Utterance:
    speaker: str
    start: float
    end: float
    text: str
    words: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "start": round(self.start, 2), "end": round(self.end, 2),
                "text": self.text, "words": self.words}


def load_model(path: Path) -> Any:
    """Load a vosk model directory.

    Raises:
        ModelError: the directory is missing or is not a vosk model.
    """
    if not path.is_dir():
        raise ModelError(f"vosk model directory not found: {path}")
    import vosk

    with _LOCK:
        vosk.SetLogLevel(-1)
        try:
            return vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception when the model does not load
            raise ModelError(f"vosk could not load the model in {path}: {exc}") from None


def recognize_words(model: Any, audio: Audio) -> list[dict[str, Any]]:
    """Every recognised word with its start, end and confidence (blocking; any thread)."""
    import vosk

    recognizer = vosk.KaldiRecognizer(model, audio.rate)
    recognizer.SetWords(True)
    words: list[dict[str, Any]] = []
    step = CHUNK_FRAMES * 2
    pcm = audio.pcm
    for offset in range(0, len(pcm), step):
        if recognizer.AcceptWaveform(pcm[offset:offset + step]):
            words.extend(_words(recognizer.Result()))
    words.extend(_words(recognizer.FinalResult()))
    return words


def _words(result: str) -> list[dict[str, Any]]:
    return [{"word": w["word"], "start": round(float(w["start"]), 2), "end": round(float(w["end"]), 2),
             "conf": round(float(w.get("conf", 1.0)), 3)}
            for w in json.loads(result).get("result", [])]


def group_utterances(speaker: str, words: list[dict[str, Any]], pause_s: float = 0.8) -> list[Utterance]:
    """Cut a speaker's words into utterances at pauses longer than ``pause_s``."""
    out: list[Utterance] = []
    for word in words:
        if out and word["start"] - out[-1].end <= pause_s:
            current = out[-1]
            current.words.append(word)
            current.end = word["end"]
        else:
            out.append(Utterance(speaker, word["start"], word["end"], "", [word]))
    for utterance in out:
        utterance.text = " ".join(str(w["word"]) for w in utterance.words)
    return out


def transcribe(model: Any, speaker: str, audio: Audio, pause_s: float = 0.8) -> list[Utterance]:
    """One speaker's utterances (none for a silent track)."""
    if audio.is_silent():
        return []
    return group_utterances(speaker, recognize_words(model, audio), pause_s)


def merge(tracks: list[list[Utterance]]) -> list[Utterance]:
    """All speakers' utterances in order of their start."""
    return sorted((u for track in tracks for u in track), key=lambda u: (u.start, u.speaker))
