"""Supervisor alerts from a call's live utterances."""

from typing import Any

from callcenter.live.alerts import AlertRules, CallWatch

RULES = AlertRules(prohibited=frozenset({"stupid", "shut up", "白痴"}), negative_window=4, negative_count=3,
                   silence_s=20.0, overtalk_s=2.0)


def u(speaker: str, start: float, end: float, text: str = "fine", sentiment: str | None = None) -> dict[str, Any]:
    return {"kind": "speech", "speaker": speaker, "start_s": start, "end_s": end, "text": text,
            "sentiment": sentiment}


def kinds(alerts: list) -> list[str]:
    return [a.kind for a in alerts]


def test_given_three_negative_of_four_customer_utterances_then_one_alert_until_it_recovers() -> None:
    w = CallWatch("c", RULES, 600)
    moods = ["negative", "neutral", "negative", "negative", "negative", "positive", "positive",
             "negative", "negative", "negative"]
    raised = [kinds(w.utterance(u("customer", i, i + 1, sentiment=m))) for i, m in enumerate(moods)]
    assert raised == [[], [], [], ["negative"], [], [], [], [], [], ["negative"]]


def test_given_agent_sentiment_then_it_never_counts() -> None:
    w = CallWatch("c", RULES, 600)
    assert all(not w.utterance(u("agent", i, i + 1, sentiment="negative")) for i in range(6))


def test_given_a_prohibited_phrase_then_it_is_alerted_with_who_said_it() -> None:
    w = CallWatch("c", RULES, 600)
    alerts = w.utterance(u("agent", 1, 2, "Oh just SHUT UP, please"))
    assert [(a.kind, a.detail) for a in alerts] == [("prohibited", "agent: shut up")]
    assert w.utterance(u("agent", 3, 4, "that is not stupidity")) == []
    assert kinds(w.utterance(u("customer", 5, 6, "你这个白痴"))) == ["prohibited"]


def test_given_both_speaking_for_long_then_overtalk() -> None:
    w = CallWatch("c", RULES, 600)
    w.utterance(u("customer", 10, 16))
    assert w.utterance(u("agent", 15, 17)) == []  # one second together
    assert kinds(w.utterance(u("customer", 18, 24))) == []
    assert kinds(w.utterance(u("agent", 21, 26))) == ["overtalk"]


def test_given_a_long_silence_then_once_and_again_after_speech() -> None:
    w = CallWatch("c", RULES, 600)
    w.utterance(u("customer", 0, 5))
    assert w.tick(20) == []
    assert kinds(w.tick(25)) == ["silence"]
    assert w.tick(40) == []
    w.utterance(u("agent", 41, 43))
    assert kinds(w.tick(63)) == ["silence"]


def test_given_a_paused_recording_then_no_silence_alert() -> None:
    w = CallWatch("c", RULES, 600)
    w.utterance(u("customer", 0, 5))
    w.utterance({"kind": "gap", "reason": "paused", "speaker": "customer", "start_s": 6, "end_s": 6})
    assert w.tick(60) == []


def test_given_the_call_past_its_target_then_once() -> None:
    w = CallWatch("c", RULES, 300)
    w.utterance(u("customer", 0, 299))
    assert w.tick(299) == []
    assert kinds(w.tick(301)) == ["over_target"]
    w.utterance(u("customer", 301, 320))
    assert w.tick(330) == []
