"""Routing decision latency at contact-center size, against the naive full-scan reference.

2,000 agents (2-4 skills each, levels 1-5, one or two languages) over 40 skills; every agent
busy and 5,000 calls waiting. Then a stream of events keeps that size: an agent finishes wrap-up
(the router picks the best waiting call for them), they answer, a new call arrives (it waits:
the router looks for a ready agent), callers abandon, talks end, time passes (steps relax).
The same events go to the indexed router and to the naive one in lock-step; their decisions
must be identical, and each ``handle()`` is timed.

    python benchmarks/routing.py [--events 4000] [--seed 1]

Prints JSON: {"agents", "skills", "waiting", "events", "p50_us", "p99_us", "naive_p50_us",
"naive_p99_us", "speedup"} (speedup = naive p99 / p99).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callcenter.agents.model import AgentProfile
from callcenter.routing import events as ev
from callcenter.routing.decisions import Decision, Offer
from callcenter.routing.policy import parse_policy
from callcenter.routing.router import Router, naive_router
from callcenter.routing.state import CallStatus

AGENTS = 2000
SKILLS = [f"skill{i:02d}" for i in range(40)]
WAITING = 5000


def build_policy() -> dict[str, object]:
    strategies = ["best_skill", "longest_idle", "least_occupied", "round_robin"]
    return {
        "defaults": {"wrap_up_s": 30, "ring_timeout_s": 15},
        "priority": {"tags": {"vip": 100, "repeat_caller": 30},
                     "order_value": {"points_per_unit": 0.05, "max_points": 40}},
        "skills": {skill: {"strategy": strategies[i % 4], "sticky_s": 10 if i % 5 == 0 else 0,
                           "steps": [{"after_s": 0, "min_level": 3},
                                     {"after_s": 30, "min_level": 1},
                                     {"after_s": 60, "skill": SKILLS[(i + 1) % len(SKILLS)],
                                      "any_language": True},
                                     {"after_s": 180, "offer_callback": True}]}
                   for i, skill in enumerate(SKILLS)},
    }


def build_agents(rng: random.Random) -> list[AgentProfile]:
    agents = []
    for i in range(AGENTS):
        skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(2, 4))}
        roll = rng.random()
        languages = ("en",) if roll < 0.8 else ("zh",) if roll < 0.9 else ("en", "de")
        agents.append(AgentProfile(f"agent{i:04d}", f"Agent {i}", f"PJSIP/{1000 + i}", skills,
                                   frozenset(languages)))
    return agents


class Workload:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self.calls = 0
        self.offered: list[str] = []

    def note(self, decisions: list[Decision]) -> None:
        self.offered.extend(d.call_id for d in decisions if isinstance(d, Offer))

    def new_call(self) -> ev.CallEnqueued:
        rng = self.rng
        self.calls += 1
        roll = rng.random()
        language = "en" if roll < 0.85 else "zh" if roll < 0.95 else ""
        tags = frozenset(["vip"]) if rng.random() < 0.05 else frozenset()
        owner = f"agent{rng.randrange(AGENTS):04d}" if rng.random() < 0.05 else None
        request = ev.CallRequest(f"call{self.calls}", rng.choice(SKILLS), 1, language,
                                 rng.randint(0, 2), tags, rng.choice([0.0, 30.0, 250.0]), owner)
        return ev.CallEnqueued(request, self.now)


def run(events: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    profiles = build_agents(rng)
    policy = parse_policy(build_policy())
    fast = Router(policy, profiles)
    slow = naive_router(policy, profiles)
    load = Workload(seed + 1)

    def both(event: ev.RouterEvent) -> None:
        got = fast.handle(event)
        if got != slow.handle(event):
            raise AssertionError(f"routers disagree on {event}")

    # warm-up: everyone ready, 2,000 calls answered, then 5,000 more waiting
    for p in profiles:
        both(ev.AgentLoggedIn(p.agent_id, load.now, ready=True))
    while len(fast.book.calls) < AGENTS * 0.9:
        load.now += 0.02  # arrivals spread in time, as in life (their step timers too)
        both(load.new_call())
    for call in list(fast.book.calls.values()):
        if call.status is CallStatus.OFFERED and call.agent is not None:
            both(ev.OfferAnswered(call.call_id, call.agent.agent_id, load.now))
    for p in profiles:  # the few still idle (no matching call) go on a break
        if fast.agent_status(p.agent_id).state.value == "ready":
            both(ev.AgentPaused(p.agent_id, "break", load.now))
    while len(fast.book.waiting) < WAITING:
        load.now += 0.02
        both(load.new_call())

    fast_us: list[float] = []
    slow_us: list[float] = []
    gc.collect()
    for _ in range(events):
        load.now += 0.05
        event = next_event(fast, load)
        t0 = time.perf_counter()
        got = fast.handle(event)
        t1 = time.perf_counter()
        want = slow.handle(event)
        t2 = time.perf_counter()
        if got != want:
            raise AssertionError(f"routers disagree on {event}")
        load.note(got)
        fast_us.append((t1 - t0) * 1e6)
        slow_us.append((t2 - t1) * 1e6)
    p50, p99 = percentile(fast_us, 50), percentile(fast_us, 99)
    naive_p50, naive_p99 = percentile(slow_us, 50), percentile(slow_us, 99)
    return {"agents": len(profiles), "skills": len(SKILLS), "waiting": len(fast.book.waiting),
            "events": events, "p50_us": round(p50, 1), "p99_us": round(p99, 1),
            "max_us": round(max(fast_us), 1), "naive_p50_us": round(naive_p50, 1),
            "naive_p99_us": round(naive_p99, 1), "speedup": round(naive_p99 / p99, 1)}


def next_event(router: Router, load: Workload) -> ev.RouterEvent:
    """Keep the center full: free agents take calls, new calls replace those taken."""
    rng = load.rng
    book = router.book
    while load.offered:
        call = book.calls.get(load.offered.pop())
        if call is None or call.status is not CallStatus.OFFERED or call.agent is None:
            continue
        if rng.random() < 0.9:
            return ev.OfferAnswered(call.call_id, call.agent.agent_id, load.now)
        return ev.OfferFailed(call.call_id, call.agent.agent_id, "no_answer", load.now)
    if len(book.waiting) < WAITING:
        return load.new_call()
    roll = rng.random()
    if roll < 0.35:
        agent = book.by_order[rng.randrange(len(book.by_order))]
        if agent is not None and agent.state.value in ("wrap_up", "paused"):
            return ev.AgentReady(agent.agent_id, load.now)
        if agent is not None and agent.call is not None and agent.call.status is CallStatus.TALKING:
            return ev.TalkEnded(agent.call.call_id, load.now)
    if roll < 0.45:
        waiting = list(book.waiting.values())
        return ev.CallHungUp(rng.choice(waiting[:50] + waiting[-50:]).call_id, load.now)
    if roll < 0.75:
        return load.new_call()
    return ev.Tick(load.now)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.events, args.seed)))


if __name__ == "__main__":
    main()
