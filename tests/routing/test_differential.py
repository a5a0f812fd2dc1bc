"""Long random walks through the indexed router and the naive full-scan reference: same
decisions, event after event, at a size where the indexes' lazy deletion and compaction work."""

from __future__ import annotations

import random

import pytest

from callcenter.routing import events as ev
from callcenter.routing.policy import parse_policy
from callcenter.routing.router import Router, naive_router
from callcenter.routing.state import CallStatus
from tests.routing.helpers import agent, check_invariants

SKILLS = [f"s{i}" for i in range(6)]


def _policy(rng: random.Random) -> dict[str, object]:
    strategies = ["best_skill", "longest_idle", "least_occupied", "round_robin"]
    return {
        "defaults": {"strategy": rng.choice(strategies), "wrap_up_s": rng.choice([0, 5, 15])},
        "priority": {"tags": {"vip": 50}, "order_value": {"points_per_unit": 0.1, "max_points": 20}},
        "skills": {s: {"strategy": rng.choice(strategies), "sticky_s": rng.choice([0, 8]),
                       "on_no_answer": rng.choice([{"state": "ready"},
                                                   {"state": "paused", "reason": "missed"}]),
                       "steps": [{"after_s": 0, "min_level": rng.randint(2, 5)},
                                 {"after_s": 15, "min_level": 1, "any_language": rng.random() < 0.5},
                                 {"after_s": 30, "skill": rng.choice(SKILLS)},
                                 {"after_s": 90, "offer_callback": True}]}
                   for s in SKILLS[:4]},
    }


def _walk(seed: int, steps: int, n_agents: int) -> int:
    rng = random.Random(seed)
    profiles = [agent(f"a{i}", {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(1, 3))},
                      tuple(rng.sample(["en", "zh", "de"], rng.randint(1, 2))))
                for i in range(n_agents)]
    pol = parse_policy(_policy(rng))
    fast, slow = Router(pol, profiles), naive_router(pol, profiles)
    now, calls, offers = 0.0, 0, 0
    for step in range(steps):
        now += rng.choice([0.0, 0.2, 1.0, 4.0])
        book = fast.book
        roll = rng.random()
        live = list(book.calls.values())
        event: ev.RouterEvent
        if roll < 0.30:
            calls += 1
            event = ev.CallEnqueued(ev.CallRequest(
                f"c{calls}", rng.choice(SKILLS), rng.randint(1, 3), rng.choice(["", "en", "zh", "de"]),
                rng.randint(0, 2), frozenset(["vip"]) if rng.random() < 0.1 else frozenset(),
                rng.choice([0.0, 80.0, 400.0]),
                f"a{rng.randrange(n_agents)}" if rng.random() < 0.1 else None), now)
        elif roll < 0.45:
            a = f"a{rng.randrange(n_agents)}"
            choices: list[ev.RouterEvent] = [ev.AgentReady(a, now), ev.AgentLoggedIn(a, now, True),
                                ev.AgentPaused(a, "break", now), ev.AgentLoggedOut(a, now),
                                ev.PhoneUnreachable(a, now), ev.PhoneReachable(a, now),
                                ev.WrapUpDone(a, now)]
            event = rng.choice(choices)
        elif roll < 0.70 and any(c.status is CallStatus.OFFERED for c in live):
            c = rng.choice([c for c in live if c.status is CallStatus.OFFERED])
            assert c.agent is not None
            offers += 1
            event = (ev.OfferAnswered(c.call_id, c.agent.agent_id, now) if rng.random() < 0.7 else
                     ev.OfferFailed(c.call_id, c.agent.agent_id,
                                    rng.choice(["no_answer", "busy", "unavailable", "failed"]), now))
        elif roll < 0.85 and any(c.status is CallStatus.TALKING for c in live):
            c = rng.choice([c for c in live if c.status is CallStatus.TALKING])
            ends: list[ev.RouterEvent] = [ev.TalkEnded(c.call_id, now), ev.CallHungUp(c.call_id, now)]
            event = rng.choice(ends)
        elif roll < 0.92 and live:
            event = ev.CallHungUp(rng.choice(live).call_id, now)
        elif roll < 0.93:
            pol = parse_policy(_policy(rng))
            assert fast.reload(pol, now) == slow.reload(pol, now)
            continue
        else:
            event = ev.Tick(now)
        got, want = fast.handle(event), slow.handle(event)
        assert got == want, f"step {step}: {event}"
        if step % 97 == 0:
            check_invariants(fast)
    check_invariants(fast)
    return offers


@pytest.mark.parametrize("seed", range(6))
def test_given_random_traffic_when_routed_then_indexed_router_decides_like_naive_scan(seed: int) -> None:
    offers = _walk(seed, steps=4000, n_agents=40)
    assert offers > 200  # the walk really exercised the offers
