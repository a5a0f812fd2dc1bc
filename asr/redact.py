"""Masking card numbers and phone numbers in transcripts.

A card number is a run of 13-19 digits that passes the Luhn check; a phone number a run of 7-15
digits (optionally with a leading +). Runs may be split over words ("4111 1111 1111 1111", or
one digit a word as recognizers often write them). Masked digits become ``#``; the masked text
is what is stored unless the settings keep the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = re.compile(r"\+?\d[\d\s\-.]*\d|\d")


@dataclass(frozen=True, slots=True)
class RedactionRules:
    cards: bool = True
    phones: bool = True


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _sensitive(digits: str, rules: RedactionRules) -> bool:
    if rules.cards and 13 <= len(digits) <= 19 and luhn_ok(digits):
        return True
    return rules.phones and 7 <= len(digits) <= 15


def redact_text(text: str, rules: RedactionRules) -> tuple[str, int]:
    """``text`` with sensitive digit runs masked, and how many runs were masked."""
    count = 0

    def mask(match: re.Match[str]) -> str:
        nonlocal count
        run = match.group(0)
        digits = "".join(c for c in run if c.isdigit())
        if not _sensitive(digits, rules):
            return run
        count += 1
        return "".join("#" if c.isdigit() else c for c in run)

    return _DIGITS.sub(mask, text), count


def redact_words(words: list[dict[str, object]], rules: RedactionRules) -> int:
    """Mask, in place, consecutive digit-only words that together form a sensitive run."""
    masked = 0
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and _is_digits(str(words[j].get("word", ""))):
            j += 1
        if j > i:
            digits = "".join(str(w["word"]).lstrip("+") for w in words[i:j])
            if _sensitive(digits, rules):
                for w in words[i:j]:
                    w["word"] = "#" * len(str(w["word"]))
                masked += 1
            i = j
        else:
            i += 1
    return masked


def _is_digits(word: str) -> bool:
    stripped = word.lstrip("+")
    return bool(stripped) and stripped.isdigit()
