"""Loading scorecards from YAML through pydantic models, with errors that name the file and the field.

    id: aftersales
    version: 1                 # raise it when an item changes: calls are scored again
    name: After-sales call
    pass_mark: 70
    items:
      - {id: dead_air, label: No dead air, kind: dead_air, weight: 5, max_seconds: 10}

An item takes the parameters of its ``kind`` only (:data:`PARAMS`), and ``phrases`` per language
when its check listens for words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, Field, PlainValidator, ValidationError, model_validator

from callcenter.schema.base import Schema, fail, summary
from callcenter.schema.fields import Integer, Number, Text, at_least, between
from qa.scorecard.items import CHECKS, NEEDS_PHRASES
from qa.scorecard.model import Item, Scorecard

PARAMS: dict[str, frozenset[str]] = {
    "greeting_within": frozenset({"seconds"}), "agent_says": frozenset(),
    "closing": frozenset({"last_utterances"}), "empathy_when_negative": frozenset({"window_s"}),
    "prohibited_words": frozenset(), "dead_air": frozenset({"max_seconds"}),
    "overtalk_ratio": frozenset({"max_ratio"}), "hold_time": frozenset({"max_seconds"}),
    "agent_talk_ratio": frozenset({"min", "max"}), "sentiment_trend": frozenset({"span", "tolerance"}),
}


class ScorecardError(ValueError):
    """A scorecard file is invalid (the message names the file and the field)."""


def _kind(value: Any) -> str:
    if value not in CHECKS:
        fail(f"unknown kind {value!r} (known: {', '.join(sorted(CHECKS))})")
    return str(value)


def _positive(value: float) -> float:
    if value <= 0:
        fail(f"must be a number > 0, got {value!r}")
    return value


def _phrases(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        fail("must be a list of non-empty strings")
    return tuple(value)


Param = Annotated[Number, at_least(0)] | None


class ItemFile(Schema):
    """One item: what is checked (``kind`` and its parameters), how much it weighs."""

    id: Annotated[Text, Field(min_length=1)]
    kind: Annotated[str, PlainValidator(_kind)]
    weight: Annotated[Number, AfterValidator(_positive)]
    label: Text | None = None
    phrases: dict[str, Annotated[tuple[str, ...], PlainValidator(_phrases)]] = Field(default_factory=dict)
    seconds: Param = None
    last_utterances: Param = None
    window_s: Param = None
    max_seconds: Param = None
    max_ratio: Param = None
    minimum: Annotated[Param, Field(alias="min")] = None
    maximum: Annotated[Param, Field(alias="max")] = None
    span: Param = None
    tolerance: Param = None

    @model_validator(mode="after")
    def _fits_the_kind(self) -> ItemFile:
        if self.kind in NEEDS_PHRASES and not self.phrases:
            fail(f"kind {self.kind} needs phrases", "phrases")
        for key in self.params():
            if key not in PARAMS[self.kind]:
                known = ", ".join(sorted(PARAMS[self.kind])) or "none"
                fail(f"an item of kind {self.kind} does not take {key} (its parameters: {known})", key)
        return self

    def params(self) -> dict[str, float]:
        given = self.model_dump(by_alias=True, exclude_unset=True)
        return {key: given[key] for key in sorted(set().union(*PARAMS.values())) if key in given}

    def item(self) -> Item:
        return Item(self.id, self.kind, self.weight, self.label or self.id, self.params(), dict(self.phrases))


class ScorecardFile(Schema):
    id: Annotated[Text, Field(min_length=1)]
    version: Annotated[Integer, between(1, 10**9)]
    name: Text
    pass_mark: Annotated[Number, between(0, 100)] = 70.0
    items: Annotated[tuple[ItemFile, ...], Field(min_length=1)]


def load_scorecard(path: Path) -> Scorecard:
    """Raises: ScorecardError."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScorecardError(f"{path.name}: cannot read: {exc}") from None
    return parse_scorecard(raw, path.name)


def parse_scorecard(raw: Any, where: str) -> Scorecard:
    """Raises: ScorecardError (``where: items[2].weight: must be a number > 0``)."""
    try:
        card = ScorecardFile.model_validate(raw)
    except ValidationError as exc:
        raise ScorecardError(f"{where}: {summary(exc, ScorecardFile)}") from None
    seen: set[str] = set()
    for n, item in enumerate(card.items):
        if item.id in seen:
            raise ScorecardError(f"{where}: items[{n}].id '{item.id}' is used twice")
        seen.add(item.id)
    return Scorecard(card.id, card.version, card.name, tuple(i.item() for i in card.items), card.pass_mark)


def load_scorecards(directory: Path) -> dict[str, Scorecard]:
    """Every ``*.yaml`` scorecard in ``directory`` by id. Raises: ScorecardError."""
    cards: dict[str, Scorecard] = {}
    for path in sorted(directory.glob("*.yaml")):
        card = load_scorecard(path)
        if card.id in cards:
            raise ScorecardError(f"{path.name}: scorecard id '{card.id}' is used twice")
        cards[card.id] = card
    return cards
