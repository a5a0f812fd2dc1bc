"""Scoring one call with one scorecard: items, total, flags, sentiment summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qa.scorecard.items import CHECKS
from qa.scorecard.model import CallFacts, ItemResult, Scorecard, Utt


@dataclass(frozen=True, slots=True)
class CardResult:
    scorecard: str
    version: int
    total: float | None
    items: tuple[ItemResult, ...]
    flags: tuple[str, ...]
    sentiment: dict[str, Any]

    def items_json(self) -> list[dict[str, Any]]:
        return [i.to_json() for i in self.items]


def total_of(items: Sequence[ItemResult], overrides: Mapping[str, bool] | None = None) -> float | None:
    """0-100 over the items that applied (a reviewer's override replaces an item's result)."""
    overrides = overrides or {}
    counted = [(i.weight, overrides.get(i.item_id, i.passed)) for i in items]
    counted = [(w, p) for w, p in counted if p is not None]
    weight = sum(w for w, _ in counted)
    if weight <= 0:
        return None
    return round(100.0 * sum(w for w, p in counted if p) / weight, 1)


def sentiment_summary(utts: Sequence[Utt]) -> dict[str, Any]:
    """Per-speaker averages and the customer's trajectory (thirds of the call)."""
    out: dict[str, Any] = {}
    for speaker in ("customer", "agent"):
        mine = [u for u in utts if u.speaker == speaker]
        out[speaker] = round(sum(u.value for u in mine) / len(mine), 3) if mine else None
    customer = [u for u in utts if u.speaker == "customer"]
    thirds = []
    if customer:
        size = max(1, -(-len(customer) // 3))
        thirds = [round(sum(u.value for u in part) / len(part), 3)
                  for part in (customer[i:i + size] for i in range(0, len(customer), size))]
    out["customer_trajectory"] = thirds
    out["customer_ended_negative"] = bool(customer) and customer[-1].sentiment == "negative"
    return out


def score_call(card: Scorecard, utts: Sequence[Utt], facts: CallFacts) -> CardResult:
    ordered = sorted(utts, key=lambda u: (u.start, u.seq))
    results = tuple(CHECKS[item.kind](item, ordered, facts) for item in card.items)
    total = total_of(results)
    sentiment = sentiment_summary(ordered)
    flags = {r.flag for r in results if r.flag}
    if sentiment["customer_ended_negative"]:
        flags.add("customer_ended_negative")
    if total is not None and total < card.pass_mark:
        flags.add("below_pass_mark")
    if not ordered:
        flags.add("no_speech")
    return CardResult(card.id, card.version, total, results, tuple(sorted(flags)), sentiment)
