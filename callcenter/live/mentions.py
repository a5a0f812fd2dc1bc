"""Numbers a speaker says, as digits (pure): "one oh oh four two…", "10004 21", "一零零…".

Whisper writes spoken digits as figures or as words, grouped as the speaker grouped them; this
joins the runs back into one number so it can be matched with the caller's order and tracking
numbers. Only the caller's own numbers are ever reported (see :func:`match`), so nothing that
redaction masks in the stored text (card numbers, other people's numbers) comes out of here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
    "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}
REPEATS = {"double": 2, "triple": 3}
_TOKEN = re.compile(r"[0-9]+|[a-z]+|[\u4e00-\u9fff〇]", re.I)
MIN_DIGITS = 5


@dataclass(frozen=True, slots=True)
class Mention:
    kind: str  # order | tracking
    number: str
    ref: str  # the order's id


def spoken_numbers(text: str) -> list[str]:
    """The digit runs in ``text`` (at least ``MIN_DIGITS`` long), spoken digits joined."""
    runs: list[str] = []
    current, repeat = "", 1
    for token in _TOKEN.findall(text.lower()):
        if token.isdigit() or token in DIGIT_WORDS:
            digits = token if token.isdigit() else DIGIT_WORDS[token]
            current += digits[0] * repeat + digits[1:]
            repeat = 1
        elif token in REPEATS:
            repeat = REPEATS[token]
        elif token not in ("and", "dash", "number", "is"):
            runs.append(current)
            current, repeat = "", 1
    runs.append(current)
    return [run for run in runs if len(run) >= MIN_DIGITS]


def match(text: str, orders: Iterable[tuple[str, str, str]]) -> list[Mention]:
    """The caller's orders (``(order id, order number, tracking numbers joined by spaces)``)
    whose number, or a shipment's tracking number, is said in ``text`` (digits compared)."""
    heard = spoken_numbers(text)
    if not heard:
        return []
    found: list[Mention] = []
    for order_id, number, tracking in orders:
        if _digits(number) and any(_digits(number) in run for run in heard):
            found.append(Mention("order", number, order_id))
        for code in tracking.split():
            digits = _digits(code)
            if len(digits) >= MIN_DIGITS and any(digits in run for run in heard):
                found.append(Mention("tracking", code, order_id))
    return found


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())
