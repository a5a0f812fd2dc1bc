"""Each kind of scorecard item: a pure function of the utterances (and the call's facts) that
says pass/fail/not applicable, with the utterances and times that decided it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence

from qa.scorecard.model import CallFacts, Evidence, Item, ItemResult, Utt, cite

Check = Callable[[Item, Sequence[Utt], CallFacts], ItemResult]


def normalise(text: str) -> str:
    """Lower case, punctuation gone, spaces squeezed: ASR output and typed text compare alike."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def contains(text: str, phrase: str) -> bool:
    text, phrase = normalise(text), normalise(phrase)
    if not phrase:
        return False
    if any("\u4e00" <= c <= "\u9fff" for c in phrase):  # Chinese: no word boundaries
        return phrase.replace(" ", "") in text.replace(" ", "")
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def _result(item: Item, passed: bool | None, evidence: Sequence[Evidence] = (),
            value: float | None = None, flag: str = "") -> ItemResult:
    return ItemResult(item.id, item.label, item.weight, passed, tuple(evidence), value, flag)


def _agent(utts: Sequence[Utt]) -> list[Utt]:
    return [u for u in utts if u.speaker == "agent"]


def _customer(utts: Sequence[Utt]) -> list[Utt]:
    return [u for u in utts if u.speaker == "customer"]


def _first_match(item: Item, utts: Sequence[Utt], language: str) -> tuple[Utt, str] | None:
    for u in utts:
        for phrase in item.phrases_for(language):
            if contains(u.text, phrase):
                return u, phrase
    return None


def greeting_within(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """The agent greets (a greeting phrase) within ``seconds`` of the call's start."""
    limit = float(item.params.get("seconds", 5))
    agent = _agent(utts)
    if not agent:
        return _result(item, False, [Evidence("the agent said nothing")])
    found = _first_match(item, agent, facts.language)
    if found is None:
        return _result(item, False, [cite(agent[0], "the agent's first words: no greeting")])
    u, phrase = found
    ok = u.start <= limit
    return _result(item, ok, [cite(u, f"greeting '{phrase}' at {u.start:.1f} s (limit {limit:g} s)")],
                   value=round(u.start, 2))


def agent_says(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """The agent says one of the phrases (their name, the resolution...)."""
    found = _first_match(item, _agent(utts), facts.language)
    if found is None:
        return _result(item, False, [Evidence("none of the phrases was said by the agent")])
    u, phrase = found
    return _result(item, True, [cite(u, f"said '{phrase}'")])


def closing(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """The agent closes with one of the phrases in their last ``last_utterances`` utterances."""
    agent = _agent(utts)
    tail = agent[-int(item.params.get("last_utterances", 2)):]
    found = _first_match(item, tail, facts.language)
    if found is None:
        return _result(item, False, [cite(tail[-1], "the agent's last words: no closing")] if tail
                       else [Evidence("the agent said nothing")])
    u, phrase = found
    return _result(item, True, [cite(u, f"closed with '{phrase}'")])


def empathy_when_negative(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """When the customer is negative, the agent answers with empathy within ``window_s``."""
    window = float(item.params.get("window_s", 30))
    negative = [u for u in _customer(utts) if u.sentiment == "negative"]
    if not negative:
        return _result(item, None, [Evidence("the customer was never negative")])
    first = negative[0]
    replies = [u for u in _agent(utts) if first.start <= u.start <= first.end + window]
    found = _first_match(item, replies, facts.language)
    if found is None:
        return _result(item, False, [cite(first, "customer negative"),
                                     Evidence(f"no empathy phrase from the agent within {window:g} s")])
    u, phrase = found
    return _result(item, True, [cite(first, "customer negative"), cite(u, f"empathy: '{phrase}'")])


def prohibited_words(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """The agent never says a prohibited word or phrase."""
    hits = [cite(u, f"prohibited: '{p}'") for u in _agent(utts) for p in item.phrases_for(facts.language)
            if contains(u.text, p)]
    if hits:
        return _result(item, False, hits, value=float(len(hits)), flag="prohibited_word")
    return _result(item, True, [Evidence("no prohibited words")], value=0.0)


def dead_air(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """No silence between utterances longer than ``max_seconds`` (hold excluded)."""
    limit = float(item.params.get("max_seconds", 10))
    ordered = sorted(utts, key=lambda u: u.start)
    gaps: list[tuple[float, Utt, Utt]] = []
    latest_end, latest = None, None
    for u in ordered:
        if latest is not None and latest_end is not None and u.start - latest_end > limit:
            gaps.append((u.start - latest_end, latest, u))
        if latest_end is None or u.end > latest_end:
            latest_end, latest = u.end, u
    if not gaps:
        longest = max((b.start - a.end for a, b in itertools.pairwise(ordered)), default=0.0)
        return _result(item, True, [Evidence(f"longest silence {max(longest, 0):.1f} s")],
                       value=round(max(longest, 0.0), 2))
    worst = max(gaps, key=lambda g: g[0])
    evidence = [Evidence(f"{g:.1f} s of silence", a.seq, "", round(a.end, 2), round(b.start, 2))
                for g, a, b in gaps]
    return _result(item, False, evidence, value=round(worst[0], 2), flag="dead_air")


def overtalk_ratio(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """Customer and agent speak over each other at most ``max_ratio`` of the talk time."""
    limit = float(item.params.get("max_ratio", 0.1))
    agent, customer = _agent(utts), _customer(utts)
    talk = sum(u.end - u.start for u in (*agent, *customer))
    if not agent or not customer or talk <= 0:
        return _result(item, None, [Evidence("needs both speakers' tracks")])
    overlaps = []
    for a in agent:
        for c in customer:
            span = min(a.end, c.end) - max(a.start, c.start)
            if span > 0:
                overlaps.append((span, a, c))
    ratio = sum(s for s, _, _ in overlaps) / talk
    evidence = [Evidence(f"{s:.1f} s of overtalk", c.seq, "customer", round(max(a.start, c.start), 2),
                         round(min(a.end, c.end), 2), c.text) for s, a, c in overlaps]
    return _result(item, ratio <= limit, evidence or [Evidence("no overtalk")], value=round(ratio, 3))


def hold_time(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """The caller was held at most ``max_seconds`` in all."""
    limit = float(item.params.get("max_seconds", 120))
    return _result(item, facts.hold_s <= limit,
                   [Evidence(f"on hold {facts.hold_s:.0f} s (limit {limit:g} s)")],
                   value=round(facts.hold_s, 1))


def agent_talk_ratio(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """The agent's share of the talking lies between ``min`` and ``max``."""
    low, high = float(item.params.get("min", 0.3)), float(item.params.get("max", 0.7))
    agent = sum(u.end - u.start for u in _agent(utts))
    customer = sum(u.end - u.start for u in _customer(utts))
    if agent + customer <= 0 or not _customer(utts):
        return _result(item, None, [Evidence("needs both speakers' tracks")])
    ratio = agent / (agent + customer)
    return _result(item, low <= ratio <= high,
                   [Evidence(f"agent {agent:.0f} s, customer {customer:.0f} s: {ratio:.0%} "
                             f"(aim {low:.0%}-{high:.0%})")], value=round(ratio, 3))


def sentiment_trend(item: Item, utts: Sequence[Utt], facts: CallFacts) -> ItemResult:
    """The customer ends no worse than they started (first vs last ``span`` of their utterances)."""
    customer = _customer(utts)
    if len(customer) < 2:
        return _result(item, None, [Evidence("too few customer utterances")])
    span = max(1, int(item.params.get("span", max(1, len(customer) // 3))))
    start, end = customer[:span], customer[-span:]
    before = sum(u.value for u in start) / len(start)
    after = sum(u.value for u in end) / len(end)
    evidence = [cite(start[0], f"start {before:+.2f}"), cite(end[-1], f"end {after:+.2f}")]
    flag = "customer_ended_negative" if end[-1].sentiment == "negative" else ""
    return _result(item, after >= before - float(item.params.get("tolerance", 0.0)), evidence,
                   value=round(after - before, 3), flag=flag)


CHECKS: dict[str, Check] = {
    "greeting_within": greeting_within, "agent_says": agent_says, "closing": closing,
    "empathy_when_negative": empathy_when_negative, "prohibited_words": prohibited_words,
    "dead_air": dead_air, "overtalk_ratio": overtalk_ratio, "hold_time": hold_time,
    "agent_talk_ratio": agent_talk_ratio, "sentiment_trend": sentiment_trend,
}
NEEDS_PHRASES = frozenset({"greeting_within", "agent_says", "closing", "empathy_when_negative",
                           "prohibited_words"})
