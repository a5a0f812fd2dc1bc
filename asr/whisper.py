"""Whisper under transformers: one speech segment in, its text, word confidences and the
probability that it held no speech out.

The model directory is what ``asr.catalog`` converts into ``state/models`` (or any Hugging Face
Whisper directory): ``config.json`` + ``model.safetensors`` + ``tokenizer.json`` (+ the
``callcenter-whisper.json`` that names the special tokens). Nothing is fetched from a hub:
``HF_HUB_OFFLINE`` is set before transformers is imported.

Decoding is greedy or a beam search (:mod:`asr.beam`) at temperature 0 with a key/value cache,
the language forced from the call (never detected), timestamps off: the segment's times come
from the voice-activity detector.
A segment Whisper thinks holds no speech (its no-speech probability high and its text
improbable) gives no text, so silence and noise never become words.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asr.beam import BeamSearch
from asr.errors import ModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SAMPLE_RATE = 16000
CHUNK_S = 30
N_FFT = 400
HOP = 160
META_FILE = "callcenter-whisper.json"
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.5  # beam search scores real but hard speech (synthetic Mandarin) near -1.2
COMPRESSION_LIMIT = 2.4
MULTILINGUAL_VOCAB = 51865
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Tokens:
    """The special token ids of one Whisper vocabulary."""

    eot: int
    sot: int
    transcribe: int
    no_timestamps: int
    no_speech: int
    languages: dict[str, int]
    suppress: tuple[int, ...] = ()
    suppress_begin: tuple[int, ...] = ()
    # English-only models (*.en, vocabulary of 51864) take no language or task token
    multilingual: bool = True

    def prompt(self, language: str) -> list[int]:
        if not self.multilingual:
            if language not in self.languages:
                raise ModelError(f"this English-only Whisper model cannot transcribe {language!r}")
            return [self.sot, self.no_timestamps]
        lang = self.languages.get(language)
        if lang is None:
            raise ModelError(f"this Whisper model does not know the language {language!r}")
        return [self.sot, lang, self.transcribe, self.no_timestamps]

    def to_json(self) -> dict[str, Any]:
        return {"eot": self.eot, "sot": self.sot, "transcribe": self.transcribe,
                "no_timestamps": self.no_timestamps, "no_speech": self.no_speech,
                "languages": self.languages, "suppress": list(self.suppress),
                "suppress_begin": list(self.suppress_begin), "multilingual": self.multilingual}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tokens:
        return cls(int(data["eot"]), int(data["sot"]), int(data["transcribe"]), int(data["no_timestamps"]),
                   int(data["no_speech"]), {str(k): int(v) for k, v in data["languages"].items()},
                   tuple(int(i) for i in data.get("suppress", ())),
                   tuple(int(i) for i in data.get("suppress_begin", ())),
                   bool(data.get("multilingual", True)))


def tokens_from_tokenizer(tokenizer_json: dict[str, Any], vocab_size: int, suppress: list[int] | None = None,
                          suppress_begin: list[int] | None = None) -> Tokens:
    """The special ids as a ``tokenizer.json`` names them.

    Raises:
        ModelError: a special token Whisper needs is not in the vocabulary.
    """
    ids = {str(t["content"]): int(t["id"]) for t in tokenizer_json.get("added_tokens", [])}
    try:
        eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
        transcribe, no_ts = ids["<|transcribe|>"], ids["<|notimestamps|>"]
    except KeyError as exc:
        raise ModelError(f"tokenizer.json lacks Whisper's special token {exc.args[0]}") from None
    no_speech = ids.get("<|nospeech|>", ids.get("<|nocaptions|>", -1))
    languages = {name[2:-2]: i for name, i in ids.items()
                 if sot < i < transcribe and re.fullmatch(r"<\|[a-z]{2,3}\|>", name)
                 and name not in ("<|translate|>",)}
    multilingual = vocab_size >= MULTILINGUAL_VOCAB
    return Tokens(eot, sot, transcribe, no_ts, no_speech, languages if multilingual else {"en": -1},
                  tuple(suppress or ()), tuple(suppress_begin or (eot,)), multilingual)


@dataclass(slots=True)
class Decoded:
    text: str
    no_speech_prob: float
    avg_logprob: float
    # (text piece, probability) per decoded token, in order
    pieces: list[tuple[str, float]] = field(default_factory=list)

    @property
    def is_speech(self) -> bool:
        if not self.text.strip():
            return False
        return not (self.no_speech_prob > NO_SPEECH_THRESHOLD and self.avg_logprob < LOGPROB_THRESHOLD)


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / max(1, len(zlib.compress(raw)))


def collapse_repeats(text: str) -> str:
    """Whisper's greedy loops ("the the the ...", a sentence over and over) cut to one copy."""
    return re.sub(r"(.{2,}?)(?:\s*\1){2,}", r"\1", text)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited (FFT) resampling of one segment; float32 in, float32 out."""
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    n = samples.size
    m = max(1, round(n * target / rate))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    out = np.zeros(m // 2 + 1, dtype=np.complex128)
    keep = min(out.size, spectrum.size)
    out[:keep] = spectrum[:keep]
    return (np.fft.irfft(out, m) * (m / n)).astype(np.float32)


class WhisperModel:
    """A loaded Whisper model (torch, CPU, float32). ``decode`` is blocking; the caller runs one
    decode at a time per process (torch uses one thread per worker process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tokens, self.name = _read_metadata(path)
        with _LOAD_LOCK:
            import torch

            model, self._tokenizer = _load(path)
        self._model = model
        self._torch = torch
        n_mels = int(model.config.num_mel_bins)
        self._mel = torch.from_numpy(_mel_filters(n_mels)).T.contiguous()
        self._window = torch.hann_window(N_FFT)
        vocab = int(model.config.vocab_size)
        mask = torch.zeros(vocab, dtype=torch.bool)
        mask[self.tokens.eot + 1:] = True  # every special token after end-of-text
        for i in self.tokens.suppress:
            if 0 <= i < vocab:
                mask[i] = True
        self._suppress = mask
        self._suppress_begin = [i for i in self.tokens.suppress_begin if 0 <= i < vocab]
        self._max_target = int(model.config.max_target_positions)
        # transformers 5 names the decoder's key/value cache ``cache``, 4.x ``past_key_values``
        params = inspect.signature(model.model.decoder.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def features(self, samples: np.ndarray) -> Any:
        """Whisper's log-mel spectrogram of (up to) 30 s of 16 kHz float audio, padded."""
        torch = self._torch
        audio = torch.zeros(SAMPLE_RATE * CHUNK_S, dtype=torch.float32)
        clip = torch.from_numpy(np.ascontiguousarray(samples[: audio.numel()], dtype=np.float32))
        audio[: clip.numel()] = clip
        stft = torch.stft(audio, N_FFT, HOP, window=self._window, return_complex=True)
        power = stft[..., :-1].abs() ** 2
        mel = self._mel @ power
        log = torch.clamp(mel, min=1e-10).log10()
        log = torch.maximum(log, log.max() - 8.0)
        return ((log + 4.0) / 4.0).unsqueeze(0)

    def encode(self, samples: np.ndarray, window_s: float | None = None) -> Any:
        """The encoder's output for (up to) 30 s of 16 kHz float audio. Whisper's encoder runs over
        a 30-second window; with ``window_s`` it runs over that many seconds only, as whisper.cpp's
        ``audio_ctx`` does (its convolutions, the first positions of its position table, its
        layers and final norm): for a short phrase most of the cost is the encoder."""
        features = self.features(samples)
        if window_s is None:
            return self._model.model.encoder(features).last_hidden_state
        torch = self._torch
        frames = min(CHUNK_S * SAMPLE_RATE // HOP, 2 * math.ceil(window_s * SAMPLE_RATE / HOP / 2))
        encoder = self._model.model.encoder
        hidden = torch.nn.functional.gelu(encoder.conv1(features[..., :frames]))
        hidden = torch.nn.functional.gelu(encoder.conv2(hidden)).permute(0, 2, 1)
        hidden = hidden + encoder.embed_positions.weight[: hidden.shape[1]]
        for layer in encoder.layers:
            out = layer(hidden, None)
            hidden = out[0] if isinstance(out, tuple) else out
        return encoder.layer_norm(hidden)

    def decode(self, samples: np.ndarray, language: str, beam_size: int = 1,
               window_s: float | None = None) -> Decoded:
        """Transcription of one speech segment (16 kHz float32, at most 30 s): greedy
        (``beam_size`` 1) or beam search, the best finished hypothesis by mean log-probability.
        ``window_s``: run the encoder over that many seconds instead of 30 (:meth:`encode`)."""
        torch = self._torch
        prompt = self.tokens.prompt(language)
        budget = min(self._max_target - len(prompt) - 1, int(samples.size / SAMPLE_RATE * 12) + 16)
        beams = max(1, beam_size)
        search = BeamSearch(torch, beams, self.tokens.eot)
        with torch.inference_mode():
            encoded = self.encode(samples, window_s).expand(beams, -1, -1)
            decoder = self._model.model.decoder
            out = decoder(input_ids=torch.tensor([prompt] * beams), encoder_hidden_states=encoded,
                          use_cache=True)
            no_speech = self._no_speech(out)
            for step in range(budget):
                logits = self._model.proj_out(out.last_hidden_state[:, -1])
                if not search.advance(self._log_probabilities(logits, step)):
                    break
                cache = out.past_key_values
                if beams > 1:
                    cache.reorder_cache(torch.tensor(search.keep))
                out = decoder(input_ids=torch.tensor(search.last_tokens()),
                              encoder_hidden_states=encoded, use_cache=True, **{self._cache_arg: cache})
        ids, logprobs = search.best()
        return self._decoded([t for t in ids if t != self.tokens.eot], logprobs, no_speech)

    def _no_speech(self, prompt_out: Any) -> float:
        """The probability of the no-speech token right after the start-of-transcript token."""
        if self.tokens.no_speech < 0:
            return 0.0
        first = self._model.proj_out(prompt_out.last_hidden_state[0])
        return float(self._torch.softmax(first[0], -1)[self.tokens.no_speech])

    def _log_probabilities(self, logits: Any, step: int) -> Any:
        """Next-token log-probabilities with the suppressed tokens (and at the first step the
        ones suppressed at the beginning) ruled out."""
        logits = logits.masked_fill(self._suppress, -math.inf)
        if step == 0 and self._suppress_begin:
            logits[:, self._suppress_begin] = -math.inf
        return self._torch.log_softmax(logits, -1)

    def _decoded(self, ids: list[int], logprobs: list[float], no_speech: float) -> Decoded:
        text = self._tokenizer.decode(ids, skip_special_tokens=True).strip()
        pieces = self._pieces(ids, logprobs)
        avg = sum(logprobs) / len(logprobs) if logprobs else -math.inf
        if compression_ratio(text) > COMPRESSION_LIMIT:
            text = collapse_repeats(text)
        return Decoded(text, no_speech, avg, pieces)

    def _pieces(self, ids: list[int], logprobs: list[float]) -> list[tuple[str, float]]:
        """Each token's share of the text (a multi-byte character may take several tokens)."""
        pieces: list[tuple[str, float]] = []
        done = ""
        start = 0
        for k in range(len(ids)):
            text = self._tokenizer.decode(ids[: k + 1], skip_special_tokens=True)
            if "\ufffd" in text[len(done):]:
                continue  # an incomplete UTF-8 sequence: the next token finishes it
            prob = math.exp(min(logprobs[start:k + 1]))
            pieces.append((text[len(done):], prob))
            done, start = text, k + 1
        return pieces


def _read_metadata(path: Path) -> tuple[Tokens, str]:
    """The special tokens and the model's name, from the meta file or else the tokenizer.

    Raises:
        ModelError: not a Whisper model directory, or its files are unreadable.
    """
    meta_path = path / META_FILE
    tokenizer_path = path / "tokenizer.json"
    if not (path / "config.json").is_file() or not tokenizer_path.is_file():
        raise ModelError(f"not a Whisper model directory (config.json/tokenizer.json missing): {path}")
    try:
        tokenizer_json = json.loads(tokenizer_path.read_text(encoding="utf-8"))
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model metadata ({exc})") from None
    try:
        vocab_size = int(json.loads((path / "config.json").read_text(encoding="utf-8"))["vocab_size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}/config.json: not a Whisper config ({exc})") from None
    tokens = (Tokens.from_json(meta["tokens"]) if "tokens" in meta
              else tokens_from_tokenizer(tokenizer_json, vocab_size))
    return tokens, str(meta.get("name", path.name))


def _load(path: Path) -> tuple[Any, Any]:
    """The transformers model (float32, in eval mode) and the tokenizer.

    Raises:
        ModelError: transformers cannot load the directory.
    """
    import torch
    from tokenizers import Tokenizer
    from transformers import WhisperForConditionalGeneration
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        model = WhisperForConditionalGeneration.from_pretrained(
            str(path), local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"transformers could not load the Whisper model in {path}: {exc}") from None
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    model.eval()  # type: ignore[no-untyped-call]
    return model, tokenizer


def _mel_filters(n_mels: int) -> np.ndarray:
    """Whisper's mel filter bank (Slaney scale, 0-8 kHz) for its FFT size."""
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=1 + N_FFT // 2, num_mel_filters=n_mels, min_frequency=0.0,
        max_frequency=8000.0, sampling_rate=SAMPLE_RATE, norm="slaney", mel_scale="slaney",
    ).astype(np.float32)
