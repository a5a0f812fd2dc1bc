"""Masking card numbers and phone numbers in transcripts.

A card number is a run of 13-19 digits that passes the Luhn check; a phone number a run of 7-15
digits (optionally with a leading +). Recognisers write them in many ways, and all are runs:
digit groups ("4111 1111 1111 1111", "138-0000-0004", "+49 30 1234567"), one digit a word, or
digits as words ("four one one one ...", "oh" for zero, Mandarin "一三八零..." with 幺 for one).
Masked digits (and digit words) become ``#``; the masked text is what is stored unless the
settings keep the original. Shorter runs (an order number "one two three four five", an
amount) stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asr.transcriber import Utterance
from asr.vad import Segment

_WORD_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_HAN_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
               "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_UNIT = (r"\d+|(?<![A-Za-z])(?:" + "|".join(_WORD_DIGITS) + r")(?![A-Za-z])|["
         + "".join(_HAN_DIGITS) + "]")
_RUN = re.compile(rf"(?:\+\s*)?(?:{_UNIT})(?:[\s,.\-、，。]*(?:{_UNIT}))*", re.IGNORECASE)
_UNIT_RE = re.compile(_UNIT, re.IGNORECASE)


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


def _digits(run: str) -> str:
    out = []
    for unit in _UNIT_RE.findall(run):
        low = unit.lower()
        if unit.isdigit() and unit.isascii():
            out.append(unit)
        else:
            out.append(_WORD_DIGITS.get(low) or _HAN_DIGITS.get(unit, ""))
    return "".join(out)


def sensitive_spans(text: str, rules: RedactionRules) -> list[tuple[int, int]]:
    """(start, end) of every card or phone number in ``text``."""
    spans = []
    for match in _RUN.finditer(text):
        if _sensitive(_digits(match.group(0)), rules):
            spans.append((match.start(), match.end()))
    return spans


def _mask(segment: str) -> str:
    return _UNIT_RE.sub(lambda m: "#" * len(m.group(0)), segment)


def redact_text(text: str, rules: RedactionRules) -> tuple[str, int]:
    """``text`` with sensitive digit runs masked, and how many runs were masked."""
    spans = sensitive_spans(text, rules)
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(_mask(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out), len(spans)


def redact_words(words: list[dict[str, object]], rules: RedactionRules) -> int:
    """Mask, in place, the words that together form a sensitive run (found in the words
    joined by spaces, so a run may span words and a word may hold a whole run)."""
    joined, offsets = [], []
    at = 0
    for w in words:
        word = str(w.get("word", ""))
        offsets.append(at)
        joined.append(word)
        at += len(word) + 1
    text = " ".join(joined)
    spans = sensitive_spans(text, rules)
    for start, end in spans:
        for w, offset in zip(words, offsets, strict=True):
            word = str(w.get("word", ""))
            lo, hi = max(start, offset), min(end, offset + len(word))
            if lo < hi:
                a, b = lo - offset, hi - offset
                w["word"] = word[:a] + _mask(word[a:b]) + word[b:]
    return len(spans)


# (masked utterance, original text, card/phone runs masked)
Redacted = tuple[Utterance, str, int]


def redact(utterances: list[Utterance], rules: RedactionRules) -> list[Redacted]:
    """(masked utterance, original text, runs masked) for each utterance. The text and the
    words are masked each on their own; when the words hold a run the text does not show
    (split differently), the text is rebuilt from the masked words."""
    out = []
    for u in utterances:
        original = u.text
        text, n = redact_text(u.text, rules)
        words = [dict(w) for w in u.words]
        in_words = redact_words(words, rules)
        if in_words > n:
            glue = "" if _CJK.search(original) else " "
            text, _ = redact_text(glue.join(str(w["word"]) for w in words), rules)
        out.append((Utterance(u.speaker, u.start, u.end, text, words), original, max(n, in_words)))
    return out


def redacted_to_json(item: Redacted, keep_original: bool) -> dict[str, Any]:
    """What a segment decoded during the call keeps until the call's transcript is stored: the
    masked text and words (the original only when the settings keep it)."""
    utterance, original, n = item
    return {"text": utterance.text, "words": utterance.words, "n": n,
            "original": original if keep_original and n else None}


def redacted_from_json(speaker: str, segment: Segment, data: dict[str, Any]) -> Redacted:
    utterance = Utterance(speaker, round(segment.start, 2), round(segment.end, 2), str(data.get("text", "")),
                          [dict(w) for w in data.get("words", []) if isinstance(w, dict)])
    return utterance, str(data.get("original") or utterance.text), int(data.get("n") or 0)


_CJK = re.compile(r"[\u3400-\u9fff]")
