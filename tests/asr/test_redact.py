"""Card and phone numbers are masked in transcripts; other numbers stay."""

from __future__ import annotations

from asr.redact import RedactionRules, luhn_ok, redact_text, redact_words

ALL = RedactionRules()


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("5500005555555559")
    assert not luhn_ok("4111111111111112")


def test_card_numbers_are_masked_whole_or_spoken_digit_by_digit() -> None:
    text, n = redact_text("my card is 4111 1111 1111 1111 thanks", ALL)
    assert text == "my card is #### #### #### #### thanks" and n == 1
    spoken = " ".join("4111111111111111")
    text, n = redact_text(f"it is {spoken} ok", ALL)
    assert "4" not in text and n == 1


def test_phone_numbers_are_masked_and_order_numbers_or_amounts_are_not() -> None:
    text, n = redact_text("call me on +49 30 1234567 about order 12345 of 19 euros", ALL)
    assert "+## ## #######" in text and "12345" in text and "19" in text and n == 1
    text, n = redact_text("call me on 13800001234", RedactionRules(phones=False))
    assert text == "call me on 13800001234" and n == 0


def test_a_non_luhn_long_run_is_still_masked_as_a_phone_but_not_as_a_card() -> None:
    text, _ = redact_text("4111111111111112", RedactionRules(cards=True, phones=False))
    assert text == "4111111111111112"


def test_words_are_masked_with_the_text() -> None:
    words = [{"word": w, "start": i, "end": i + 1, "conf": 1.0}
             for i, w in enumerate(["card", *"4111111111111111", "thanks"])]
    assert redact_words(words, ALL) == 1
    assert [w["word"] for w in words] == ["card", *["#"] * 16, "thanks"]
