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


def test_whisper_digit_groups_are_masked() -> None:
    text, n = redact_text("Sure, the card is 4111 1111 1111 1111.", ALL)
    assert text == "Sure, the card is #### #### #### ####." and n == 1
    text, n = redact_text("You can reach me at 138-0000-0004, thanks.", ALL)
    assert text == "You can reach me at ###-####-####, thanks." and n == 1
    text, n = redact_text("我的手机是138-0000-0004。", ALL)
    assert text == "我的手机是###-####-####。" and n == 1


def test_numbers_spoken_as_words_are_masked() -> None:
    card = "four one one one, one one one one, one one one one, one one one one"
    text, n = redact_text(f"My card number is {card}. Thanks.", ALL)
    assert n == 1 and not any(d in text.lower() for d in ("four", " one"))
    assert text.startswith("My card number is ####") and text.endswith(". Thanks.")
    text, n = redact_text("call me on one three eight, oh oh oh oh, oh oh oh four", ALL)
    assert n == 1 and "three" not in text and "four" not in text
    text, n = redact_text("我的电话是一三八零零零零零零零四，谢谢", ALL)
    assert text == "我的电话是###########，谢谢" and n == 1


def test_short_spoken_numbers_and_ordinary_words_stay() -> None:
    for keep in ("order number one, two, three, four, five, and it arrived broken",
                 "someone said one thing and two more", "I want one blender", "我要一个，谢谢", "订单号一二三四五"):
        assert redact_text(keep, ALL) == (keep, 0)


def test_words_are_masked_where_the_run_spans_them() -> None:
    words: list[dict[str, object]] = [{"word": w} for w in
                                      ["card", "4111", "1111", "1111", "1111.", "phone", "138-0000-0004,", "ok"]]
    assert redact_words(words, ALL) == 2
    assert [w["word"] for w in words] == ["card", "####", "####", "####", "####.", "phone", "###-####-####,", "ok"]
    spoken: list[dict[str, object]] = [{"word": w} for w in ["one", "three", "eight", "oh", "oh", "oh", "oh", "oh", "oh", "oh", "four", "please"]]
    assert redact_words(spoken, ALL) == 1
    assert [w["word"] for w in spoken][-1] == "please" and all("#" in str(w["word"]) for w in spoken[:-1])
