"""The labelled call-center utterances the default sentiment model is trained on.

``negative.txt``, ``neutral.txt`` and ``positive.txt`` hold one hand-written utterance a line
(about refunds, returns, deliveries, repairs, complaints and thanks). Each line also appears in
the style of speech-to-text output (lower case, no punctuation). The held-out split is made by
line: a line and its ASR-style twin always fall on the same side, so the held-out score measures
sentences the model has never seen in any form.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

LABELS = ("negative", "neutral", "positive")
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    group: int  # the source line: a line's variants share it


def asr_style(text: str) -> str:
    """How a recognizer would write it: lower case, no punctuation, single spaces."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).replace("'", " ").split())


def load(directory: Path = HERE) -> list[Example]:
    examples: list[Example] = []
    group = 0
    for label in LABELS:
        for line in (directory / f"{label}.txt").read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            examples.append(Example(line, label, group))
            examples.append(Example(asr_style(line), label, group))
            group += 1
    return examples


def split(examples: list[Example], held_out: float = 0.2,
          seed: int = 13) -> tuple[list[Example], list[Example]]:
    """(train, held-out), stratified by label, whole groups on one side."""
    rng = random.Random(seed)
    train: list[Example] = []
    test: list[Example] = []
    for label in LABELS:
        groups = sorted({e.group for e in examples if e.label == label})
        rng.shuffle(groups)
        chosen = set(groups[: round(len(groups) * held_out)])
        for e in examples:
            if e.label == label:
                (test if e.group in chosen else train).append(e)
    return train, test
