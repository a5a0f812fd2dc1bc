"""Reading values back as prompt sequences, per language (pure).

Asterisk's own ``SAY NUMBER``/``SAY DATE`` only speak the languages whose sound sets are
installed; composing the prompts here keeps read-back testable and lets Chinese use the
project's ``zh/digits/*`` recordings. The names returned are language-neutral (``digits/5``);
:class:`ivr.sounds.PromptResolver` turns them into ``zh/digits/5`` for Chinese callers.

English follows Asterisk's ``en`` rules (``digits/20``, ``digits/hundred``, ordinals
``digits/h-N`` for dates); Chinese counts in 万/亿 groups with 零 for gaps (一千零五, 十一万).
"""

from __future__ import annotations

from datetime import date

MAX_NUMBER = 10**12 - 1
_DIGIT_NAMES = {"*": "digits/star", "#": "digits/pound"}
ZH_EXTRA_PROMPTS = ("digits/ten-thousand", "digits/hundred-million", "digits/month-suffix",
                    "digits/day-suffix")


def say_digits(text: str) -> tuple[str, ...]:
    """One prompt per digit; characters that are not DTMF are skipped."""
    out = []
    for char in text:
        if char.isascii() and char.isdigit():
            out.append(f"digits/{char}")
        elif char in _DIGIT_NAMES:
            out.append(_DIGIT_NAMES[char])
    return tuple(out)


def say_number(value: int, language: str) -> tuple[str, ...]:
    """An integer as words; beyond ±999,999,999,999 it is read digit by digit."""
    if abs(value) > MAX_NUMBER:
        return say_digits(str(value))
    if value < 0:
        return ("digits/minus", *say_number(-value, language))
    if value == 0:
        return ("digits/0",)
    return tuple(_zh_number(value) if _is_zh(language) else _en_number(value))


def say_date(value: date, language: str) -> tuple[str, ...]:
    """Month and day (``November twenty-third``, ``十一月二十三日``)."""
    if _is_zh(language):
        return (*_zh_number(value.month), "digits/month-suffix", *_zh_number(value.day),
                "digits/day-suffix")
    return (f"digits/mon-{value.month - 1}", *_en_ordinal(value.day))


def _is_zh(language: str) -> bool:
    return language.split("_", 1)[0] == "zh"


def _en_number(n: int) -> list[str]:
    out: list[str] = []
    for value, word in ((10**9, "digits/billion"), (10**6, "digits/million"), (1000, "digits/thousand")):
        if n >= value:
            out += _en_below_1000(n // value)
            out.append(word)
            n %= value
    return out + _en_below_1000(n)


def _en_below_1000(n: int) -> list[str]:
    out: list[str] = []
    if n >= 100:
        out += [f"digits/{n // 100}", "digits/hundred"]
        n %= 100
    if n >= 20:
        out.append(f"digits/{n // 10 * 10}")
        n %= 10
    if n:
        out.append(f"digits/{n}")
    return out


def _en_ordinal(day: int) -> list[str]:
    if day <= 20 or day % 10 == 0:
        return [f"digits/h-{day}"]
    return [f"digits/{day // 10 * 10}", f"digits/h-{day % 10}"]


def _zh_number(n: int) -> list[str]:
    out: list[str] = []
    gap = False
    for value, unit in ((10**8, "digits/hundred-million"), (10**4, "digits/ten-thousand"), (1, "")):
        group = n // value % 10**4
        if group == 0:
            gap = gap or bool(out)
            continue
        out += _zh_group(group, lead_zero=bool(out) and (gap or group < 1000))
        if unit:
            out.append(unit)
        gap = False
    return out


def _zh_group(group: int, lead_zero: bool) -> list[str]:
    out: list[str] = []
    pending_zero = lead_zero
    for value, unit in ((1000, "digits/thousand"), (100, "digits/hundred"), (10, "digits/10"), (1, "")):
        digit = group // value % 10
        if digit == 0:
            pending_zero = pending_zero or bool(out)
            continue
        if pending_zero:
            out.append("digits/0")
            pending_zero = False
        if not (value == 10 and digit == 1 and not out):
            out.append(f"digits/{digit}")
        if unit:
            out.append(unit)
    return out
