"""What a scorecard is made of, and what scoring a call produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SENTIMENT_VALUE = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}


@dataclass(frozen=True, slots=True)
class Utt:
    """One utterance as QA sees it (sentiment filled in by the sentiment model)."""

    seq: int
    speaker: str  # customer, agent, mixed
    start: float
    end: float
    text: str
    sentiment: str = "neutral"
    sentiment_score: float = 0.0

    @property
    def value(self) -> float:
        """Sentiment on -1..1, weighted by the model's confidence."""
        return SENTIMENT_VALUE.get(self.sentiment, 0.0) * (self.sentiment_score or 1.0)


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the call record says beyond the transcript."""

    duration_s: float = 0.0
    hold_s: float = 0.0
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    kind: str
    weight: float
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def phrases_for(self, language: str) -> tuple[str, ...]:
        """The phrases of a language ("zh" finds "zh-CN"), else every language's."""
        for key, values in self.phrases.items():
            if key == language or key.split("-")[0] == language.split("-")[0]:
                return values
        return tuple(p for values in self.phrases.values() for p in values)


@dataclass(frozen=True, slots=True)
class Scorecard:
    id: str
    version: int
    name: str
    items: tuple[Item, ...]
    pass_mark: float = 70.0


@dataclass(frozen=True, slots=True)
class Evidence:
    note: str
    seq: int | None = None
    speaker: str = ""
    start: float | None = None
    end: float | None = None
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"note": self.note, "seq": self.seq, "speaker": self.speaker, "start": self.start,
                "end": self.end, "text": self.text}


@dataclass(frozen=True, slots=True)
class ItemResult:
    """``passed`` None: the item did not apply to this call (left out of the score)."""

    item_id: str
    label: str
    weight: float
    passed: bool | None
    evidence: tuple[Evidence, ...] = ()
    value: float | None = None  # the measured number (seconds, ratio), when there is one
    flag: str = ""  # a flag this result raises (e.g. prohibited_word)

    def to_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "label": self.label, "weight": self.weight,
                "passed": self.passed, "value": self.value, "flag": self.flag,
                "evidence": [e.to_json() for e in self.evidence]}


def cite(u: Utt, note: str) -> Evidence:
    return Evidence(note, u.seq, u.speaker, round(u.start, 2), round(u.end, 2), u.text)
