"""Every scorecard item on hand-made transcripts: pass, fail, not applicable, and the evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.scorecard import CallFacts, ScorecardError, Utt, load_scorecards, score_call
from qa.scorecard.items import CHECKS, contains
from qa.scorecard.loader import parse_scorecard
from qa.scorecard.model import Item, ItemResult
from qa.scorecard.score import total_of

REPO = Path(__file__).resolve().parents[2]
EN = CallFacts(duration_s=60, language="en")


def u(seq: int, speaker: str, start: float, end: float, text: str, sentiment: str = "neutral",
      score: float = 0.9) -> Utt:
    return Utt(seq, speaker, start, end, text, sentiment, score)


def item(kind: str, phrases: list[str] | None = None, **params: float) -> Item:
    return Item(kind, kind, 10.0, kind, params, {"en": tuple(phrases or ()), "zh-CN": ("您好",)})


GOOD_CALL = [
    u(0, "agent", 0.5, 4.0, "thank you for calling happy shop my name is sam how can i help"),
    u(1, "customer", 5.0, 12.0, "my blender arrived broken and i am really upset", "negative", 0.95),
    u(2, "agent", 12.5, 16.0, "i am so sorry about that let me check your order"),
    u(3, "customer", 16.5, 18.0, "ok thanks", "neutral", 0.7),
    u(4, "agent", 18.5, 24.0, "i have processed your refund is there anything else"),
    u(5, "customer", 24.5, 26.0, "no that is great thank you", "positive", 0.9),
    u(6, "agent", 26.5, 28.0, "thank you for calling goodbye"),
]


def check(kind: str, utts: list[Utt], phrases: list[str] | None = None, facts: CallFacts = EN,
          **params: float) -> ItemResult:
    return CHECKS[kind](item(kind, phrases, **params), utts, facts)


def test_phrase_matching_ignores_case_and_punctuation_but_respects_words() -> None:
    assert contains("Thank you, for CALLING!", "thank you for calling")
    assert not contains("this island", "is")
    assert contains("请问您好吗", "您好")


def test_greeting_within_seconds() -> None:
    ok = check("greeting_within", GOOD_CALL, ["thank you for calling"], seconds=5)
    assert ok.passed and ok.evidence[0].seq == 0 and ok.value == 0.5
    late = check("greeting_within", [u(0, "agent", 7.0, 9.0, "hello there")], ["hello"], seconds=5)
    assert late.passed is False and "7.0 s" in late.evidence[0].note
    none = check("greeting_within", [u(0, "agent", 0.0, 2.0, "yes what")], ["hello"])
    assert none.passed is False and none.evidence[0].seq == 0


def test_agent_says_their_name_or_the_resolution() -> None:
    named = check("agent_says", GOOD_CALL, ["my name is"])
    assert named.passed and named.evidence[0].seq == 0
    missing = check("agent_says", GOOD_CALL, ["i have arranged a courier"])
    assert missing.passed is False
    # the customer saying it does not count
    assert check("agent_says", [u(0, "customer", 0, 1, "my name is bob")], ["my name is"]).passed is False


def test_closing_is_judged_on_the_agents_last_words() -> None:
    assert check("closing", GOOD_CALL, ["goodbye"]).evidence[0].seq == 6
    early = [u(0, "agent", 0, 1, "goodbye"), u(1, "agent", 2, 3, "ok"), u(2, "agent", 4, 5, "right")]
    result = check("closing", early, ["goodbye"], last_utterances=2)
    assert result.passed is False and result.evidence[0].seq == 2


def test_empathy_only_applies_when_the_customer_is_negative() -> None:
    result = check("empathy_when_negative", GOOD_CALL, ["i am so sorry"], window_s=30)
    assert result.passed and [e.seq for e in result.evidence] == [1, 2]
    calm = [u(0, "customer", 0, 2, "hello", "neutral"), u(1, "agent", 2, 3, "hi")]
    assert check("empathy_when_negative", calm, ["sorry"]).passed is None
    cold = [u(0, "customer", 0, 2, "this is terrible", "negative"), u(1, "agent", 3, 4, "order number")]
    result = check("empathy_when_negative", cold, ["sorry"])
    assert result.passed is False and result.evidence[0].seq == 0


def test_prohibited_words_fail_and_flag_with_every_hit() -> None:
    assert check("prohibited_words", GOOD_CALL, ["stupid"]).passed is True
    rude = [*GOOD_CALL, u(7, "agent", 30, 31, "calm down it is not my problem")]
    result = check("prohibited_words", rude, ["calm down", "not my problem"])
    assert result.passed is False and result.flag == "prohibited_word" and len(result.evidence) == 2
    assert all(e.seq == 7 for e in result.evidence)


def test_dead_air_longer_than_the_limit() -> None:
    assert check("dead_air", GOOD_CALL, max_seconds=10).passed is True
    gap = [u(0, "agent", 0, 2, "one moment"), u(1, "agent", 15, 16, "thanks for waiting")]
    result = check("dead_air", gap, max_seconds=10)
    assert result.passed is False and result.value == 13.0 and result.evidence[0].start == 2.0
    assert result.evidence[0].end == 15.0


def test_overtalk_ratio() -> None:
    assert check("overtalk_ratio", GOOD_CALL, max_ratio=0.1).value == 0.0
    over = [u(0, "customer", 0, 10, "blah"), u(1, "agent", 6, 12, "but")]
    result = check("overtalk_ratio", over, max_ratio=0.1)
    assert result.passed is False and result.value == pytest.approx(4 / 16, abs=0.001)
    assert result.evidence[0].start == 6 and result.evidence[0].end == 10
    assert check("overtalk_ratio", [u(0, "mixed", 0, 5, "x")]).passed is None


def test_hold_time_from_the_call_record() -> None:
    assert check("hold_time", GOOD_CALL, facts=CallFacts(hold_s=30), max_seconds=120).passed
    long = check("hold_time", GOOD_CALL, facts=CallFacts(hold_s=300), max_seconds=120)
    assert long.passed is False and long.value == 300


def test_agent_talk_ratio() -> None:
    result = check("agent_talk_ratio", GOOD_CALL, min=0.3, max=0.7)
    assert result.passed and 0.3 <= (result.value or 0) <= 0.7
    monologue = [u(0, "agent", 0, 50, "talk"), u(1, "customer", 50, 52, "ok")]
    assert check("agent_talk_ratio", monologue, min=0.3, max=0.7).passed is False


def test_sentiment_trend_and_the_customer_ending_negative() -> None:
    better = check("sentiment_trend", GOOD_CALL)
    assert better.passed and (better.value or 0) > 0 and not better.flag
    worse = [u(0, "customer", 0, 1, "fine", "positive"), u(1, "agent", 1, 2, "ok"),
             u(2, "customer", 3, 4, "this is useless", "negative")]
    result = check("sentiment_trend", worse)
    assert result.passed is False and result.flag == "customer_ended_negative"
    assert [e.seq for e in result.evidence] == [0, 2]


def test_the_shipped_scorecard_scores_a_good_call_high_and_a_bad_call_low() -> None:
    card = load_scorecards(REPO / "config" / "qa")["aftersales"]
    assert {i.kind for i in card.items} == set(CHECKS)
    good = score_call(card, GOOD_CALL, EN)
    assert good.total is not None and good.total >= 90 and "below_pass_mark" not in good.flags
    bad_call = [u(0, "agent", 8, 9, "yes"), u(1, "customer", 10, 20, "it broke", "negative"),
                u(2, "agent", 40, 41, "calm down not my problem"), u(3, "customer", 42, 43, "awful", "negative")]
    bad = score_call(card, bad_call, CallFacts(hold_s=400))
    assert bad.total is not None and bad.total < 40
    assert {"prohibited_word", "customer_ended_negative", "below_pass_mark", "dead_air"} <= set(bad.flags)
    assert bad.sentiment["customer_ended_negative"] and bad.sentiment["customer"] < 0


def test_an_override_changes_the_total() -> None:
    card = load_scorecards(REPO / "config" / "qa")["aftersales"]
    result = score_call(card, GOOD_CALL, EN)
    lowered = total_of(result.items, {"resolution": False})
    assert lowered is not None and result.total is not None and lowered < result.total


@pytest.mark.parametrize(("raw", "message"), [
    ({"id": "x", "version": 1, "name": "x"}, "items: missing"),
    ({"id": "x", "version": 0, "name": "x", "items": [{}]}, "version"),
    ({"id": "x", "version": 1, "name": "x", "items": [{"id": "a", "kind": "nope", "weight": 1}]}, "unknown kind"),
    ({"id": "x", "version": 1, "name": "x", "items": [{"id": "a", "kind": "dead_air", "weight": -1}]}, "weight"),
    ({"id": "x", "version": 1, "name": "x", "items": [{"id": "a", "kind": "closing", "weight": 1}]}, "needs phrases"),
    ({"id": "x", "version": 1, "name": "x", "items": [{"id": "a", "kind": "dead_air", "weight": 1, "max_seconds": "ten"}]},
     "max_seconds"),
    ({"id": "x", "version": 1, "name": "x", "items": [{"id": "a", "kind": "dead_air", "weight": 1},
                                                      {"id": "a", "kind": "hold_time", "weight": 1}]}, "used twice"),
])
def test_bad_scorecards_are_refused_naming_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ScorecardError, match=message):
        parse_scorecard(raw, "card.yaml")
