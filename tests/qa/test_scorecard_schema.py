"""Scorecard files through their models: unknown keys and parameters that are not the item
kind's are refused where they stand, a wrong type names the field's path, the shipped cards load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa.scorecard import ScorecardError, load_scorecard
from qa.scorecard.loader import parse_scorecard

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "config" / "qa").glob("*.yaml"))


def card(*items: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "x", "version": 1, "name": "x", "items": list(items), **top}


@pytest.mark.parametrize(("raw", "message"), [
    (card({"id": "a", "kind": "hold_time", "weight": 1}, owner="qa"),
     "card.yaml: owner: unknown field (known: id, version, name, pass_mark, items)"),
    (card({"id": "a", "kind": "hold_time", "weight": 1, "colour": "red"}),
     "card.yaml: items[0].colour: unknown field (known: id, kind, weight, label, phrases,"),
    (card({"id": "a", "kind": "hold_time", "weight": 1, "max_ratio": 0.2}),
     "card.yaml: items[0].max_ratio: an item of kind hold_time does not take max_ratio (its parameters: max_seconds)"),
    (card({"id": "a", "kind": "agent_says", "weight": 1, "phrases": {"en": ["hi"]}, "seconds": 3}),
     "card.yaml: items[0].seconds: an item of kind agent_says does not take seconds (its parameters: none)"),
])
def test_given_unknown_key_then_refused_with_its_location(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ScorecardError) as info:
        parse_scorecard(raw, "card.yaml")
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("raw", "message"), [
    (card({"id": "a", "kind": "hold_time", "weight": "heavy"}), "card.yaml: items[0].weight: must be a number"),
    (card({"id": "a", "kind": "hold_time", "weight": 1}, pass_mark=101),
     "card.yaml: pass_mark: must be between 0 and 100"),
    (card({"id": "a", "kind": "closing", "weight": 1, "phrases": {"en": "bye"}}),
     "card.yaml: items[0].phrases.en: must be a list of non-empty strings"),
    (card({"id": "a", "kind": "agent_talk_ratio", "weight": 1, "min": "low"}),
     "card.yaml: items[0].min: must be a number, got 'low'"),
    ({"id": "x", "version": 1, "name": "x", "items": {"a": 1}}, "card.yaml: items: must be a list"),
])
def test_given_wrong_type_then_the_field_path_is_named(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ScorecardError) as info:
        parse_scorecard(raw, "card.yaml")
    assert str(info.value).startswith(message)


def test_an_items_parameters_reach_its_check() -> None:
    loaded = parse_scorecard(card({"id": "talk", "kind": "agent_talk_ratio", "weight": 5, "min": 0.2,
                                   "max": 0.8}), "card.yaml")
    (item,) = loaded.items
    assert (item.label, item.params, item.weight) == ("talk", {"max": 0.8, "min": 0.2}, 5.0)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_scorecards_load(path: Path) -> None:
    assert load_scorecard(path).items
