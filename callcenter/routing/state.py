"""The router's mutable records of agents and calls, and the eligibility rules every matcher
shares (the scan matcher applies them literally; the indexed one must agree with it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from callcenter.agents.model import AgentProfile, AgentState
from callcenter.routing.events import CallRequest
from callcenter.routing.policy import SkillPolicy, Strategy

ANY_LANGUAGE = "*"

CallKey = tuple[int, float, float, int]  # (0 held / 1 normal, -priority, enqueued_at, seq)


class CallStatus(Enum):
    WAITING = 1
    OFFERED = 2
    TALKING = 3
    DONE = 4
    RETRY = 5  # a callback whose customer leg failed, waiting for its next try


@dataclass(slots=True)
class CallbackEntry:
    """The caller hung up and keeps their place: ``number`` is called back when the call comes
    up (``attempts``: customer legs tried so far)."""

    number: str
    attempts: int = 0
    connected: bool = False  # the customer answered the current try


@dataclass(frozen=True, slots=True)
class Target:
    """Agents of ``skill`` at ``min_level`` or more who speak ``language`` (``*``: any)."""

    skill: str
    min_level: int
    language: str


@dataclass(slots=True, eq=False)
class AgentRec:
    profile: AgentProfile
    order: int  # stable, unique: the last tie-break
    state: AgentState = AgentState.OFFLINE
    reason: str = ""
    since: float = 0.0
    reachable: bool = True
    idle_since: float = 0.0
    last_offer_seq: int = 0
    occupancy_key: float = 0.0
    gen: int = 0  # bumped whenever the agent (re)enters the ready index
    call: CallRec | None = None
    after_call: tuple[AgentState, str] | None = None  # a pause or logout asked for mid-call
    wrap_gen: int = 0
    extended_gen: int = -1  # the wrap-up whose "More time" pause (after_call_work) runs now

    @property
    def agent_id(self) -> str:
        return self.profile.agent_id

    @property
    def offerable(self) -> bool:
        return self.state is AgentState.READY and self.reachable


@dataclass(slots=True, eq=False)
class CallRec:
    request: CallRequest
    policy: SkillPolicy
    seq: int
    priority: float
    enqueued_at: float
    key: CallKey = (1, 0.0, 0.0, 0)
    status: CallStatus = CallStatus.WAITING
    held_for: str | None = None  # sticky: only this agent may take it for now
    active: int = 0  # steps[:active] apply
    targets: list[Target] = field(default_factory=list)
    gen: int = 0  # bumped whenever the call (re)enters the waiting index
    agent: AgentRec | None = None
    offer_id: int = 0
    offered_at: float = 0.0
    step_gen: int = 0  # bumped when a policy reload reschedules the steps
    callback_due: bool = False
    callback_offered: bool = False
    callback: CallbackEntry | None = None  # set once the caller took a callback

    @property
    def call_id(self) -> str:
        return self.request.call_id

    def make_key(self) -> CallKey:
        return (0 if self.held_for is not None else 1, -self.priority, self.enqueued_at, self.seq)


def targets_for(call: CallRec) -> list[Target]:
    """The targets of the active steps, in step order (the call's own skill never below the
    IVR's minimum level)."""
    request = call.request
    out: list[Target] = []
    for step in call.policy.steps[:call.active]:
        if step.skill is None:
            continue
        level = step.min_level
        if step.skill == request.skill:
            level = max(level, request.min_level)
        language = ANY_LANGUAGE if step.any_language or not request.language else request.language
        target = Target(step.skill, level, language)
        if target not in out:
            out.append(target)
    return out


def accepts(target: Target, profile: AgentProfile) -> bool:
    return (profile.skills.get(target.skill, 0) >= target.min_level
            and (target.language == ANY_LANGUAGE or target.language in profile.languages))


def eligible(call: CallRec, agent: AgentRec) -> bool:
    """May ``agent`` be offered ``call`` now? (Both as the router holds them.)"""
    if not agent.offerable or call.status is not CallStatus.WAITING:
        return False
    if call.held_for is not None:
        return agent.agent_id == call.held_for
    return any(accepts(t, agent.profile) for t in call.targets)


def strategy_key(strategy: Strategy, agent: AgentRec) -> tuple[float, ...]:
    """The agent's rank among equals for ``strategy`` (smaller first), without the skill level
    (``best_skill`` ranks by level before this key)."""
    if strategy is Strategy.LEAST_OCCUPIED:
        return (agent.occupancy_key, agent.idle_since, agent.order)
    if strategy is Strategy.ROUND_ROBIN:
        return (float(agent.last_offer_seq), float(agent.order))
    return (agent.idle_since, agent.order)
