"""Read-back prompts per language, and that every prompt they can produce exists."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ivr.say import ZH_EXTRA_PROMPTS, say_date, say_digits, say_number
from ivr.sounds import PROJECT_SOUNDS, SYSTEM_SOUNDS, SoundIndex

ZH_WORDS = {"digits/0": "零", "digits/1": "一", "digits/2": "二", "digits/3": "三", "digits/4": "四",
            "digits/5": "五", "digits/6": "六", "digits/7": "七", "digits/8": "八", "digits/9": "九",
            "digits/10": "十", "digits/hundred": "百", "digits/thousand": "千", "digits/ten-thousand": "万",
            "digits/hundred-million": "亿", "digits/minus": "负"}


def zh(n: int) -> str:
    return "".join(ZH_WORDS[p] for p in say_number(n, "zh"))


@pytest.mark.parametrize(("n", "words"), [
    (0, "零"), (7, "七"), (10, "十"), (11, "十一"), (20, "二十"), (99, "九十九"), (105, "一百零五"),
    (110, "一百一十"), (1005, "一千零五"), (1050, "一千零五十"), (2026, "二千零二十六"), (10010, "一万零一十"),
    (110000, "十一万"), (100000005, "一亿零五"), (123456789, "一亿二千三百四十五万六千七百八十九"),
    (-3, "负三"),
])
def test_chinese_numbers(n: int, words: str) -> None:
    assert zh(n) == words


@pytest.mark.parametrize(("n", "prompts"), [
    (0, ["0"]), (13, ["13"]), (21, ["20", "1"]), (100, ["1", "hundred"]), (305, ["3", "hundred", "5"]),
    (1999, ["1", "thousand", "9", "hundred", "90", "9"]), (2_000_000, ["2", "million"]),
])
def test_english_numbers_follow_asterisk(n: int, prompts: list[str]) -> None:
    assert say_number(n, "en") == tuple(f"digits/{p}" for p in prompts)


def test_huge_numbers_are_read_as_digits_and_digits_skip_non_dtmf() -> None:
    assert say_number(10**15, "en") == say_digits("1" + "0" * 15)
    assert say_digits("1*#x٣") == ("digits/1", "digits/star", "digits/pound")


def test_dates() -> None:
    assert say_date(date(2026, 1, 31), "en") == ("digits/mon-0", "digits/30", "digits/h-1")
    assert say_date(date(2026, 12, 20), "en") == ("digits/mon-11", "digits/h-20")
    assert say_date(date(2026, 10, 1), "zh") == ("digits/10", "digits/month-suffix", "digits/1",
                                                  "digits/day-suffix")


def all_prompts(language: str) -> set[str]:
    names: set[str] = set()
    for n in [*range(0, 1000), 10**4, 10**5 + 1, 10**8 + 7, 1_234_567_890, -5]:
        names.update(say_number(n, language))
    for day in range(1, 32):
        names.update(say_date(date(2026, 1, day), language))
    for month in range(1, 13):
        names.update(say_date(date(2026, month, 1), language))
    names.update(say_digits("0123456789*#"))
    return names


def test_every_chinese_read_back_prompt_is_recorded() -> None:
    index = SoundIndex.scan([PROJECT_SOUNDS])
    assert {p for p in all_prompts("zh") if f"zh/{p}" not in index.names} == set()
    assert set(ZH_EXTRA_PROMPTS) <= all_prompts("zh")


@pytest.mark.skipif(not any((d / "en" / "digits" / "1.wav").is_file() for d in SYSTEM_SOUNDS),
                    reason="needs Debian asterisk-core-sounds-en-wav")
def test_every_english_read_back_prompt_is_a_stock_prompt() -> None:
    index = SoundIndex.scan([d for d in SYSTEM_SOUNDS if Path(d).is_dir()])
    assert {p for p in all_prompts("en") if not index.playable(p)} == set()
