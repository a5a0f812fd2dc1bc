"""What-if replay: traffic (stored or generated) through the real router on a virtual clock.

Each arrival says what the IVR would have learned (skill, level, language, priority, tags,
order value, ticket owner) and how the call goes: how long the agent's phone rings before they
answer (``answer_s``; past the ring timeout it is a no-answer), how long they talk, how long the
caller is willing to wait (``patience_s``), whether they take a callback when offered.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.agents.model import AgentProfile, AgentState
from callcenter.routing import events as ev
from callcenter.routing.decisions import AgentStateChanged, Decision, Offer, OfferCallback
from callcenter.routing.policy import RoutingPolicy
from callcenter.routing.router import Router
from callcenter.routing.stats import RoutingStatistics


class TrafficError(ValueError):
    """A traffic file is invalid; the message names the line and the field."""


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float
    call_id: str
    skill: str
    min_level: int = 1
    language: str = ""
    priority: int = 0
    tags: frozenset[str] = frozenset()
    order_value: float = 0.0
    preferred_agent: str | None = None
    talk_s: float = 180.0
    patience_s: float = math.inf
    answer_s: float = 3.0
    accepts_callback: bool = False

    def request(self) -> ev.CallRequest:
        return ev.CallRequest(self.call_id, self.skill, self.min_level, self.language,
                              self.priority, self.tags, self.order_value, self.preferred_agent)


_FIELDS = frozenset(("at", "call_id", "skill", "min_level", "language", "priority", "tags",
                          "order_value", "preferred_agent", "talk_s", "patience_s", "answer_s",
                          "accepts_callback"))


def parse_arrival(row: dict[str, Any], where: str) -> Arrival:
    """One arrival from a CSV row or a JSON object.

    Raises:
        TrafficError: names ``where`` and the field.
    """
    unknown = next((key for key in row if key not in _FIELDS), None)
    if unknown is not None:
        raise TrafficError(f"{where}: unknown field {unknown!r}")
    skill = row.get("skill")
    if not isinstance(skill, str) or not skill:
        raise TrafficError(f"{where}: skill: required")

    def number(key: str, default: float) -> float:
        return _number(row, where, key, default)

    level = int(number("min_level", 1))
    if not 1 <= level <= 5:
        raise TrafficError(f"{where}: min_level: must be 1-5")
    if row.get("at") in (None, ""):
        raise TrafficError(f"{where}: at: required")
    return Arrival(
        at=number("at", math.nan), call_id=str(row.get("call_id") or where), skill=skill,
        min_level=level, language=str(row.get("language") or ""), priority=int(number("priority", 0)),
        tags=_tags(row.get("tags")), order_value=number("order_value", 0.0),
        preferred_agent=str(row["preferred_agent"]) if row.get("preferred_agent") else None,
        talk_s=number("talk_s", 180.0), patience_s=number("patience_s", math.inf),
        answer_s=number("answer_s", 3.0), accepts_callback=_yes(row.get("accepts_callback", False)))


def _number(row: dict[str, Any], where: str, key: str, default: float) -> float:
    """A field that must be a number >= 0 (``default`` when absent or empty)."""
    value = row.get(key)
    if value is None or value == "":
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TrafficError(f"{where}: {key}: must be a number") from None
    if out < 0 or math.isnan(out):
        raise TrafficError(f"{where}: {key}: must be >= 0")
    return out


def _tags(value: Any) -> frozenset[str]:
    """A JSON list, or in CSV one cell with the tags separated by ``,`` or ``;``."""
    tags = value or []
    if isinstance(tags, str):
        tags = [t for t in tags.replace(";", ",").split(",") if t.strip()]
    return frozenset(str(t).strip() for t in tags)


def _yes(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def read_traffic(path: Path) -> list[Arrival]:
    """``.csv`` (a header row of the field names) or ``.jsonl`` (one object a line).

    Raises:
        TrafficError: unreadable file or a bad line (named).
    """
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            if path.suffix.lower() == ".csv":
                rows = [(f"{path}:{i}", dict(r)) for i, r in enumerate(csv.DictReader(fh), 2)]
            else:
                rows = []
                for i, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            data = json.loads(line)
                        except json.JSONDecodeError as exc:
                            raise TrafficError(f"{path}:{i}: not JSON ({exc.msg})") from None
                        if not isinstance(data, dict):
                            raise TrafficError(f"{path}:{i}: must be a JSON object")
                        rows.append((f"{path}:{i}", data))
    except OSError as exc:
        raise TrafficError(f"{path}: cannot read ({exc.strerror})") from None
    arrivals = [parse_arrival(row, where) for where, row in rows]
    if len({a.call_id for a in arrivals}) != len(arrivals):
        raise TrafficError(f"{path}: call_id values must be unique")
    return sorted(arrivals, key=lambda a: a.at)


def generate_traffic(calls: int, skills: Sequence[str], *, seed: int = 1,
                     duration_s: float = 3600.0, languages: Sequence[str] = ("en",),
                     vip_share: float = 0.05, mean_talk_s: float = 240.0,
                     mean_patience_s: float = 120.0) -> list[Arrival]:
    """Poisson arrivals over ``duration_s``, log-normal talk times, exponential patience."""
    rng = random.Random(seed)
    rate = calls / duration_s
    at = 0.0
    out = []
    for i in range(calls):
        at += rng.expovariate(rate)
        vip = rng.random() < vip_share
        out.append(Arrival(
            at=round(at, 3), call_id=f"sim-{i + 1}", skill=rng.choice(list(skills)),
            min_level=1, language=rng.choice(list(languages)), priority=9 if vip else 0,
            tags=frozenset({"vip"}) if vip else frozenset(),
            order_value=round(rng.lognormvariate(4.0, 1.0), 2),
            talk_s=round(rng.lognormvariate(math.log(mean_talk_s) - 0.18, 0.6), 1),
            patience_s=round(rng.expovariate(1 / mean_patience_s), 1),
            answer_s=round(rng.uniform(1.0, 6.0), 1), accepts_callback=rng.random() < 0.5))
    return out


@dataclass(order=True)
class _SimEvent:
    at: float
    seq: int
    kind: str = field(compare=False)
    call_id: str = field(compare=False)
    agent_id: str = field(default="", compare=False)
    offer_id: int = field(default=0, compare=False)


def simulate(arrivals: Iterable[Arrival], policy: RoutingPolicy, agents: Sequence[AgentProfile],
             pause_s: float = 60.0) -> RoutingStatistics:
    """Run the traffic through the real router (all agents ready at t=0; an agent the policy
    pauses, e.g. after a missed call, is ready again ``pause_s`` later) and return the
    statistics once every call is over."""
    router = Router(policy, agents, start=0.0)
    replay = _Replay(router, pause_s)
    for arrival in arrivals:
        replay.arrive(arrival)
    for profile in agents:
        router.handle(ev.AgentLoggedIn(profile.agent_id, 0.0, ready=True))
    return router.statistics(replay.run())


class _Replay:
    """What the callers and agents do, queued in time order and told to the router; what the
    router decides (offers, callbacks, pauses) queues what happens next."""

    def __init__(self, router: Router, pause_s: float) -> None:
        self.router = router
        self.pause_s = pause_s
        self.by_id: dict[str, Arrival] = {}
        self.heap: list[_SimEvent] = []
        self.seq = 0

    def arrive(self, arrival: Arrival) -> None:
        self.by_id[arrival.call_id] = arrival
        self.push(arrival.at, "arrive", arrival.call_id)

    def push(self, at: float, kind: str, call_id: str, agent_id: str = "", offer_id: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, _SimEvent(at, self.seq, kind, call_id, agent_id, offer_id))

    def run(self) -> float:
        """Until nothing is left to happen; returns the time of the last event."""
        last = 0.0
        while self.heap:
            due = self.router.next_due()
            if due is not None and due < self.heap[0].at:
                last = due
                self.react(self.router.tick(due), due)
                continue
            item = heapq.heappop(self.heap)
            last = item.at
            event = self.event_for(item)
            if event is not None:
                self.react(self.router.handle(event), item.at)
        return last

    def event_for(self, item: _SimEvent) -> ev.RouterEvent | None:
        """What the router hears of ``item`` (nothing when the call has moved on meanwhile)."""
        now = item.at
        view = self.router.call_status(item.call_id) if item.call_id else None
        offered = view is not None and view.status == "offered" and view.agent_id == item.agent_id
        if item.kind == "arrive":
            arrival = self.by_id[item.call_id]
            if math.isfinite(arrival.patience_s):
                self.push(now + arrival.patience_s, "abandon", item.call_id)
            return ev.CallEnqueued(arrival.request(), now)
        if item.kind == "answer" and offered:
            self.push(now + self.by_id[item.call_id].talk_s, "hangup", item.call_id)
            return ev.OfferAnswered(item.call_id, item.agent_id, now)
        if item.kind == "no_answer" and offered:
            return ev.OfferFailed(item.call_id, item.agent_id, "no_answer", now)
        if item.kind == "hangup" or (item.kind == "abandon" and view is not None
                                     and view.status != "talking"):
            return ev.CallHungUp(item.call_id, now)
        if item.kind == "callback" and view is not None and view.status != "talking":
            return ev.CallbackAccepted(item.call_id, now)
        if item.kind == "ready":
            return ev.AgentReady(item.agent_id, now)
        return None

    def react(self, decisions: list[Decision], now: float) -> None:
        for d in decisions:
            if isinstance(d, Offer):
                arrival = self.by_id[d.call_id]
                if arrival.answer_s < d.ring_timeout_s:
                    self.push(now + arrival.answer_s, "answer", d.call_id, d.agent_id, d.offer_id)
                else:
                    self.push(now + d.ring_timeout_s, "no_answer", d.call_id, d.agent_id, d.offer_id)
            elif isinstance(d, OfferCallback) and self.by_id[d.call_id].accepts_callback:
                self.push(now, "callback", d.call_id)
            elif isinstance(d, AgentStateChanged) and d.state is AgentState.PAUSED:
                self.push(now + self.pause_s, "ready", "", d.agent_id)  # back after a short pause
