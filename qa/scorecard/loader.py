"""Loading scorecards from YAML, with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from qa.scorecard.items import CHECKS, NEEDS_PHRASES
from qa.scorecard.model import Item, Scorecard


class ScorecardError(ValueError):
    """A scorecard file is invalid (the message names the file and the field)."""


def load_scorecard(path: Path) -> Scorecard:
    """Raises: ScorecardError."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScorecardError(f"{path.name}: cannot read: {exc}") from None
    return parse_scorecard(raw, path.name)


def parse_scorecard(raw: Any, where: str) -> Scorecard:
    if not isinstance(raw, dict):
        raise ScorecardError(f"{where}: must be a mapping")
    for key in ("id", "version", "name", "items"):
        if key not in raw:
            raise ScorecardError(f"{where}: missing '{key}'")
    if not isinstance(raw["version"], int) or raw["version"] < 1:
        raise ScorecardError(f"{where}: version must be a positive integer")
    if not isinstance(raw["items"], list) or not raw["items"]:
        raise ScorecardError(f"{where}: items must be a non-empty list")
    items, seen = [], set()
    for n, entry in enumerate(raw["items"]):
        item = _item(entry, f"{where}: items[{n}]")
        if item.id in seen:
            raise ScorecardError(f"{where}: items[{n}].id '{item.id}' is used twice")
        seen.add(item.id)
        items.append(item)
    pass_mark = raw.get("pass_mark", 70)
    if not isinstance(pass_mark, int | float) or not 0 <= pass_mark <= 100:
        raise ScorecardError(f"{where}: pass_mark must be between 0 and 100")
    return Scorecard(str(raw["id"]), raw["version"], str(raw["name"]), tuple(items), float(pass_mark))


def _item(entry: Any, where: str) -> Item:
    if not isinstance(entry, dict):
        raise ScorecardError(f"{where}: must be a mapping")
    kind = entry.get("kind")
    if kind not in CHECKS:
        raise ScorecardError(f"{where}.kind: unknown kind {kind!r} (known: {', '.join(sorted(CHECKS))})")
    weight = entry.get("weight")
    if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
        raise ScorecardError(f"{where}.weight: must be a number > 0")
    item_id = entry.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise ScorecardError(f"{where}.id: must be a non-empty string")
    phrases: dict[str, tuple[str, ...]] = {}
    raw_phrases = entry.get("phrases", {})
    if not isinstance(raw_phrases, dict):
        raise ScorecardError(f"{where}.phrases: must map a language to a list of phrases")
    for lang, values in raw_phrases.items():
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise ScorecardError(f"{where}.phrases.{lang}: must be a list of non-empty strings")
        phrases[str(lang)] = tuple(values)
    if kind in NEEDS_PHRASES and not phrases:
        raise ScorecardError(f"{where}.phrases: kind {kind} needs phrases")
    params = {k: v for k, v in entry.items() if k not in ("id", "kind", "weight", "label", "phrases")}
    for key, value in params.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ScorecardError(f"{where}.{key}: must be a number >= 0")
    return Item(item_id, kind, float(weight), str(entry.get("label", item_id)), params, phrases)


def load_scorecards(directory: Path) -> dict[str, Scorecard]:
    """Every ``*.yaml`` scorecard in ``directory`` by id. Raises: ScorecardError."""
    cards: dict[str, Scorecard] = {}
    for path in sorted(directory.glob("*.yaml")):
        card = load_scorecard(path)
        if card.id in cards:
            raise ScorecardError(f"{path.name}: scorecard id '{card.id}' is used twice")
        cards[card.id] = card
    return cards
