"""Live routing statistics, kept up to date by the router as things happen (no rescans).

Time in each agent state is summed per agent and per skill (over the agents who have it) with
running totals: ``done + count * now - sum(entered_at)`` gives the time of the agents still in
a state without visiting them. A snapshot costs O(skills + agents).

Definitions: *service level* = calls answered within the skill's target / calls that left the
queue answered or abandoned; *ASA* = mean wait of answered calls; *abandon rate* = abandoned /
(answered + abandoned); *occupancy* = (offered + talking + wrap-up time) / (that + ready time),
paused and offline time excluded.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.agents.model import AgentProfile, AgentState

_STATES = tuple(AgentState)
_INDEX = {s: i for i, s in enumerate(_STATES)}
_BUSY = (_INDEX[AgentState.OFFERED], _INDEX[AgentState.TALKING], _INDEX[AgentState.WRAP_UP])
_READY = _INDEX[AgentState.READY]


class StateTime:
    """Time spent in each state by a group of agents, current stays included."""

    __slots__ = ("count", "done", "entered")

    def __init__(self) -> None:
        self.done = [0.0] * len(_STATES)
        self.count = [0] * len(_STATES)
        self.entered = [0.0] * len(_STATES)

    def enter(self, state: int, at: float) -> None:
        self.count[state] += 1
        self.entered[state] += at

    def leave(self, state: int, since: float, at: float) -> None:
        self.count[state] -= 1
        self.entered[state] -= since
        self.done[state] += at - since

    def total(self, state: int, now: float) -> float:
        return self.done[state] + self.count[state] * now - self.entered[state]

    def occupancy(self, now: float) -> float | None:
        busy = sum(self.total(i, now) for i in _BUSY)
        available = busy + self.total(_READY, now)
        return busy / available if available > 1e-9 else None


@dataclass(slots=True)
class _SkillAcc:
    entered: int = 0
    answered: int = 0
    in_target: int = 0
    abandoned: int = 0
    callbacks: int = 0
    wait_sum: float = 0.0
    waiting: int = 0
    oldest: list[tuple[float, int]] = field(default_factory=list)
    time: StateTime = field(default_factory=StateTime)


@dataclass(slots=True)
class _AgentAcc:
    state: int = _INDEX[AgentState.OFFLINE]
    since: float = 0.0
    answered: int = 0
    missed: int = 0
    time: StateTime = field(default_factory=StateTime)


@dataclass(frozen=True, slots=True)
class SkillStatistics:
    skill: str
    waiting: int
    longest_wait_s: float
    entered: int
    answered: int
    abandoned: int
    callbacks: int
    service_level: float | None
    service_level_target_s: float
    asa_s: float | None
    abandon_rate: float | None
    agents: dict[str, int]
    occupancy: float | None

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass(frozen=True, slots=True)
class AgentStatistics:
    agent_id: str
    state: str
    reason: str
    reachable: bool
    since: float
    call_id: str | None
    answered: int
    missed: int
    talk_s: float
    occupancy: float | None

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass(frozen=True, slots=True)
class RoutingStatistics:
    """A snapshot for the API and the wallboard (``to_json()``)."""

    at: float
    waiting: int
    longest_wait_s: float
    entered: int
    answered: int
    abandoned: int
    callbacks: int
    service_level: float | None
    asa_s: float | None
    abandon_rate: float | None
    occupancy: float | None
    agents: dict[str, int]
    skills: tuple[SkillStatistics, ...]
    agent_details: tuple[AgentStatistics, ...]

    def to_json(self) -> dict[str, Any]:
        out = _json(self)
        out["skills"] = [s.to_json() for s in self.skills]
        out["agent_details"] = [a.to_json() for a in self.agent_details]
        return out


def _json(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__slots__:
        value = getattr(obj, name)
        out[name] = round(value, 4) if isinstance(value, float) else value
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


class RoutingStats:
    """Fed by the router; :meth:`snapshot` answers at once.

    Args:
        in_queue: tells whether a call (by seq) still waits or rings (for the longest wait).
    """

    def __init__(self, in_queue: Callable[[int], bool]) -> None:
        self._in_queue = in_queue
        self._skills: dict[str, _SkillAcc] = {}
        self._agents: dict[str, _AgentAcc] = {}
        self._targets: dict[str, float] = {}
        self._all = StateTime()

    def _skill(self, skill: str) -> _SkillAcc:
        acc = self._skills.get(skill)
        if acc is None:
            acc = self._skills[skill] = _SkillAcc()
        return acc

    # --- calls ---------------------------------------------------------------------------------

    def call_entered(self, skill: str, seq: int, at: float, target_s: float) -> None:
        acc = self._skill(skill)
        acc.entered += 1
        acc.waiting += 1
        heapq.heappush(acc.oldest, (at, seq))
        self._targets[skill] = target_s

    def call_answered(self, skill: str, waited_s: float, target_s: float, agent_id: str) -> None:
        acc = self._skill(skill)
        acc.waiting -= 1
        acc.answered += 1
        acc.wait_sum += waited_s
        if waited_s <= target_s:
            acc.in_target += 1
        agent = self._agents.get(agent_id)
        if agent is not None:
            agent.answered += 1

    def call_abandoned(self, skill: str) -> None:
        acc = self._skill(skill)
        acc.waiting -= 1
        acc.abandoned += 1

    def call_callback(self, skill: str) -> None:
        acc = self._skill(skill)
        acc.waiting -= 1
        acc.callbacks += 1

    def offer_missed(self, agent_id: str) -> None:
        agent = self._agents.get(agent_id)
        if agent is not None:
            agent.missed += 1

    def _longest(self, acc: _SkillAcc, now: float) -> float:
        oldest = acc.oldest
        while oldest and not self._in_queue(oldest[0][1]):
            heapq.heappop(oldest)
        return max(0.0, now - oldest[0][0]) if oldest else 0.0

    # --- agents --------------------------------------------------------------------------------

    def agent_added(self, profile: AgentProfile, at: float) -> None:
        acc = self._agents.get(profile.agent_id)
        if acc is None:
            acc = self._agents[profile.agent_id] = _AgentAcc(since=at)
            acc.time.enter(acc.state, at)
            self._all.enter(acc.state, at)
            for skill in profile.skills:
                self._skill(skill).time.enter(acc.state, at)

    def agent_profile_changed(self, old: AgentProfile, new: AgentProfile, at: float) -> None:
        acc = self._agents[new.agent_id]
        for skill in old.skills:
            if skill not in new.skills:
                self._skill(skill).time.leave(acc.state, acc.since, at)
        for skill in new.skills:
            if skill not in old.skills:
                self._skill(skill).time.enter(acc.state, at)
                # the stay began now for this skill: keep the books consistent
                self._skill(skill).time.entered[acc.state] += acc.since - at

    def agent_removed(self, profile: AgentProfile, at: float) -> None:
        acc = self._agents.pop(profile.agent_id, None)
        if acc is None:
            return
        self._all.leave(acc.state, acc.since, at)
        for skill in profile.skills:
            self._skill(skill).time.leave(acc.state, acc.since, at)

    def agent_state(self, profile: AgentProfile, state: AgentState, at: float) -> None:
        acc = self._agents[profile.agent_id]
        new = _INDEX[state]
        if new == acc.state:
            return
        for group in (acc.time, self._all, *(self._skill(s).time for s in profile.skills)):
            group.leave(acc.state, acc.since, at)
            group.enter(new, at)
        acc.state, acc.since = new, at

    def occupancy(self, agent_id: str, now: float) -> float:
        acc = self._agents.get(agent_id)
        value = acc.time.occupancy(now) if acc is not None else None
        return value if value is not None else 0.0

    # --- snapshot ------------------------------------------------------------------------------

    def snapshot(self, now: float, agents: list[tuple[str, str, bool, float, str | None]]
                 ) -> RoutingStatistics:
        """``agents``: (agent id, reason, reachable, since, call id) of every known agent."""
        skills = []
        totals = [0, 0, 0, 0, 0, 0.0, 0]  # entered answered in_target abandoned callbacks wait waiting
        longest = 0.0
        for name in sorted(self._skills):
            acc = self._skills[name]
            wait = self._longest(acc, now)
            longest = max(longest, wait)
            finished = acc.answered + acc.abandoned
            skills.append(SkillStatistics(
                skill=name, waiting=acc.waiting, longest_wait_s=wait, entered=acc.entered,
                answered=acc.answered, abandoned=acc.abandoned, callbacks=acc.callbacks,
                service_level=_ratio(acc.in_target, finished),
                service_level_target_s=self._targets.get(name, 0.0),
                asa_s=_ratio(acc.wait_sum, acc.answered),
                abandon_rate=_ratio(acc.abandoned, finished),
                agents={s.value: acc.time.count[i] for i, s in enumerate(_STATES)},
                occupancy=acc.time.occupancy(now)))
            for i, value in enumerate((acc.entered, acc.answered, acc.in_target, acc.abandoned,
                                       acc.callbacks, acc.wait_sum, acc.waiting)):
                totals[i] += value
        entered, answered, in_target, abandoned, callbacks, wait_sum, waiting = totals
        details = []
        for agent_id, reason, reachable, since, call_id in agents:
            a = self._agents[agent_id]
            details.append(AgentStatistics(
                agent_id=agent_id, state=_STATES[a.state].value, reason=reason,
                reachable=reachable, since=since, call_id=call_id, answered=a.answered,
                missed=a.missed, talk_s=a.time.total(_INDEX[AgentState.TALKING], now),
                occupancy=a.time.occupancy(now)))
        return RoutingStatistics(
            at=now, waiting=int(waiting), longest_wait_s=longest, entered=int(entered),
            answered=int(answered), abandoned=int(abandoned), callbacks=int(callbacks),
            service_level=_ratio(in_target, answered + abandoned),
            asa_s=_ratio(wait_sum, answered), abandon_rate=_ratio(abandoned, answered + abandoned),
            occupancy=self._all.occupancy(now),
            agents={s.value: self._all.count[i] for i, s in enumerate(_STATES)},
            skills=tuple(skills), agent_details=tuple(details))
