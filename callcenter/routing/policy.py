"""The routing policy as data (``config/routing.yaml``): typed, checked, errors name the field.

Per skill, *steps* relax with the wait: each step adds agents the call may go to (a skill and a
minimum level, optionally any language) or offers the caller a callback. Steps are cumulative, so
a call never loses an agent it could already go to. Example::

    skills:
      refunds:
        steps:
          - {after_s: 0, min_level: 4}            # refunds agents of level >= 4
          - {after_s: 30, min_level: 2}           # ... then >= 2
          - {after_s: 60, skill: general}         # ... then general agents too
          - {after_s: 180, offer_callback: true}  # ... and offer a callback

A caller who takes the callback keeps their place: when it comes up, an agent is rung first,
then the customer. ``callback_attempts`` customer legs are tried, ``callback_retry_s`` apart,
each ringing ``callback_ring_s``; after the last the callback becomes a ticket.

A call's priority is a weighted sum (``priority:``): the IVR's priority, tags such as ``vip``,
``repeat_caller`` and ``callback``, and the order value (capped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import yaml
from pydantic import Field, PlainValidator, ValidationError

from callcenter.agents.model import MAX_LEVEL, MIN_LEVEL, AgentState, check_reason
from callcenter.routing.errors import RoutingPolicyError
from callcenter.schema.base import Schema, fail, summary
from callcenter.schema.fields import Flag, Integer, Number, Text, between


class Strategy(StrEnum):
    """How one ready agent is picked among those who may take a call."""

    BEST_SKILL = "best_skill"  # highest level in the target skill, then longest idle
    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"  # lowest occupancy when they became ready, then longest idle
    ROUND_ROBIN = "round_robin"  # agents take turns: the one offered least recently goes next


@dataclass(frozen=True, slots=True)
class Reaction:
    """What happens to an agent after an offer fails: ``ready`` (back of the line), ``paused``
    with a reason, or ``offline``."""

    state: AgentState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    after_s: float
    skill: str | None = None  # None: this step adds no agents (a callback-only step)
    min_level: int = 1
    any_language: bool = False
    offer_callback: bool = False


@dataclass(frozen=True, slots=True)
class SkillPolicy:
    skill: str
    steps: tuple[Step, ...]
    strategy: Strategy = Strategy.BEST_SKILL
    ring_timeout_s: float = 15.0
    wrap_up_s: float = 20.0
    wrap_up_max_s: float = 0.0  # "More time" after a call ends this long after it (0: no limit)
    service_level_s: float = 20.0
    sticky_s: float = 0.0
    on_no_answer: Reaction = Reaction(AgentState.PAUSED, "missed")
    on_busy: Reaction = Reaction(AgentState.PAUSED, "phone_busy")
    on_unavailable: Reaction = Reaction(AgentState.READY)
    on_failed: Reaction = Reaction(AgentState.PAUSED, "offer_failed")
    callback_attempts: int = 3  # customer legs tried before the callback becomes a ticket
    callback_retry_s: float = 300.0  # between a failed customer leg and the next try
    callback_ring_s: float = 30.0  # how long the customer's phone rings on each try

    def reaction(self, result: str) -> Reaction:
        """The reaction for an offer result (``no_answer``, ``busy``, ``unavailable``, ``failed``)."""
        if result == "no_answer":
            return self.on_no_answer
        if result == "busy":
            return self.on_busy
        if result == "unavailable":
            return self.on_unavailable
        return self.on_failed


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    """``score = ivr * priority + sum(tags[t]) + min(order_value * per_unit, order_value_max)``."""

    ivr: float = 10.0
    tags: Mapping[str, float] = field(default_factory=dict)
    order_value_per_unit: float = 0.0
    order_value_max: float = 0.0

    def score(self, ivr_priority: int, tags: Iterable[str], order_value: float) -> float:
        total = self.ivr * ivr_priority
        for tag in tags:
            total += self.tags.get(tag, 0.0)
        if order_value > 0 and self.order_value_per_unit > 0:
            total += min(order_value * self.order_value_per_unit, self.order_value_max)
        return total


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """The whole policy. :meth:`for_skill` answers for any skill (unlisted ones get the
    defaults with a single step on their own skill)."""

    defaults: SkillPolicy
    skills: Mapping[str, SkillPolicy] = field(default_factory=dict)
    priority: PriorityWeights = field(default_factory=PriorityWeights)
    offer_grace_s: float = 10.0  # the router gives up on an offer Asterisk never reports on
    login_state: Reaction = Reaction(AgentState.PAUSED, "login")

    def for_skill(self, skill: str) -> SkillPolicy:
        found = self.skills.get(skill)
        if found is not None:
            return found
        return replace(self.defaults, skill=skill, steps=(Step(0.0, skill, MIN_LEVEL),))


def default_policy() -> RoutingPolicy:
    return RoutingPolicy(SkillPolicy("*", (Step(0.0),)))


# --- the file -----------------------------------------------------------------------------------

def _strategy(value: Any) -> Strategy:
    try:
        return Strategy(value)
    except ValueError:
        fail(f"unknown strategy {value!r} (one of {', '.join(s.value for s in Strategy)})")


def _state(value: Any) -> str:
    if value not in ("ready", "paused", "offline"):
        fail("must be ready, paused or offline")
    return str(value)


class ReactionFile(Schema):
    """``{state: paused, reason: missed}``; an unset state keeps the default reaction's."""

    state: Annotated[str, PlainValidator(_state)] | None = None
    reason: Text = ""


class SkillSettings(Schema):
    """What ``defaults`` sets for every skill, and each skill may set for itself."""

    strategy: Annotated[Strategy, PlainValidator(_strategy)] | None = None
    ring_timeout_s: Annotated[Number, between(1, 600)] | None = None
    wrap_up_s: Annotated[Number, between(0, 3600)] | None = None
    wrap_up_max_s: Annotated[Number, between(0, 86400)] | None = None
    service_level_s: Annotated[Number, between(1, 3600)] | None = None
    sticky_s: Annotated[Number, between(0, 3600)] | None = None
    on_no_answer: ReactionFile | None = None
    on_busy: ReactionFile | None = None
    on_unavailable: ReactionFile | None = None
    on_failed: ReactionFile | None = None
    callback_attempts: Annotated[Integer, between(1, 10)] | None = None
    callback_retry_s: Annotated[Number, between(0, 86400)] | None = None
    callback_ring_s: Annotated[Number, between(5, 300)] | None = None


class StepFile(Schema):
    """One step: agents it adds (``skill``, default the call's own) or a callback offer."""

    after_s: Annotated[Number, between(0, 86400)] | None = None
    skill: Text | None = None
    min_level: Annotated[Integer, between(MIN_LEVEL, MAX_LEVEL)] = MIN_LEVEL
    any_language: Flag = False
    offer_callback: Flag = False


class SkillFile(SkillSettings):
    steps: tuple[StepFile, ...] = ()


class OrderValue(Schema):
    points_per_unit: Annotated[Number, between(0, 1e6)] = 0.0
    max_points: Annotated[Number, between(0, 1e6)] = 0.0


class PriorityFile(Schema):
    ivr: Annotated[Number, between(-1e6, 1e6)] = 10.0
    tags: dict[str, Annotated[Number, between(-1e6, 1e6)]] = Field(default_factory=dict)
    order_value: OrderValue = Field(default_factory=OrderValue)


class PolicyFile(Schema):
    version: Annotated[Integer, between(1, 1)] = 1
    offer_grace_s: Annotated[Number, between(0, 600)] = 10.0
    login_state: ReactionFile | None = None
    defaults: SkillSettings = Field(default_factory=SkillSettings)
    priority: PriorityFile = Field(default_factory=PriorityFile)
    skills: dict[str, SkillFile] = Field(default_factory=dict)


def parse_policy(data: Any, known_skills: Iterable[str] | None = None) -> RoutingPolicy:
    """Build the policy from plain data (the YAML document).

    Args:
        known_skills: when given, every skill named must be one of these.

    Raises:
        RoutingPolicyError: the message starts with the bad field's path.
    """
    try:
        document = PolicyFile.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise RoutingPolicyError(summary(exc, PolicyFile, "policy")) from None
    known = frozenset(known_skills) if known_skills is not None else None
    defaults = _settings(document.defaults, SkillPolicy("*", (Step(0.0),)), "defaults")
    skills: dict[str, SkillPolicy] = {}
    for name, entry in document.skills.items():
        if known is not None and name not in known:
            raise RoutingPolicyError(f"skills.{name}: unknown skill (known: {', '.join(sorted(known))})")
        where = f"skills.{name}"
        settings = _settings(entry, replace(defaults, skill=name), where)
        skills[name] = replace(settings, steps=_steps(entry.steps, name, known, f"{where}.steps"))
    weights = document.priority
    return RoutingPolicy(
        defaults=defaults,
        skills=MappingProxyType(skills),
        priority=PriorityWeights(weights.ivr, MappingProxyType(dict(weights.tags)),
                                 weights.order_value.points_per_unit, weights.order_value.max_points),
        offer_grace_s=document.offer_grace_s,
        login_state=_reaction(document.login_state, Reaction(AgentState.PAUSED, "login"), "login_state"),
    )


def load_policy(path: Path, known_skills: Iterable[str] | None = None) -> RoutingPolicy:
    """Read and check ``routing.yaml``.

    Raises:
        RoutingPolicyError: unreadable, not YAML, or invalid (prefixed with the file name).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise RoutingPolicyError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise RoutingPolicyError(f"{path}: not valid YAML ({exc})") from None
    try:
        return parse_policy(data, known_skills)
    except RoutingPolicyError as exc:
        raise RoutingPolicyError(f"{path}: {exc}") from None


def _settings(given: SkillSettings, base: SkillPolicy, where: str) -> SkillPolicy:
    """``base`` with what ``given`` sets (reactions checked against the base's)."""
    values: dict[str, Any] = {name: getattr(given, name) for name in given.model_fields_set
                              if name in SkillSettings.model_fields and getattr(given, name) is not None}
    for name in ("on_no_answer", "on_busy", "on_unavailable", "on_failed"):
        values[name] = _reaction(getattr(given, name), getattr(base, name), f"{where}.{name}")
    return replace(base, **values)


def _reaction(given: ReactionFile | None, default: Reaction, where: str) -> Reaction:
    if given is None:
        return default
    state = AgentState(given.state or default.state.value)
    if state is AgentState.PAUSED:
        if not given.reason:
            raise RoutingPolicyError(f"{where}.reason: required when the state is paused")
        try:
            check_reason(given.reason, f"{where}.reason")
        except ValueError as exc:
            raise RoutingPolicyError(str(exc)) from None
    elif given.reason:
        raise RoutingPolicyError(f"{where}.reason: only a paused state has a reason")
    return Reaction(state, given.reason)


def _steps(items: tuple[StepFile, ...], skill: str, known: frozenset[str] | None,
           where: str) -> tuple[Step, ...]:
    if not items:
        raise RoutingPolicyError(f"{where}: at least one step is required")
    steps: list[Step] = []
    for i, item in enumerate(items):
        steps.append(_step(item, i, steps[-1] if steps else None, skill, known, f"{where}[{i}]"))
    if steps[0].skill is None:
        raise RoutingPolicyError(f"{where}[0]: the first step must name agents")
    return tuple(steps)


def _step(item: StepFile, i: int, before: Step | None, skill: str, known: frozenset[str] | None,
          where: str) -> Step:
    after = item.after_s if item.after_s is not None else (0.0 if i == 0 else None)
    if after is None:
        raise RoutingPolicyError(f"{where}.after_s: required")
    target = item.skill if item.skill is not None else ("" if item.offer_callback else skill)
    if target and known is not None and target not in known:
        raise RoutingPolicyError(f"{where}.skill: unknown skill {target!r}")
    if i == 0 and after != 0:
        raise RoutingPolicyError(f"{where}.after_s: the first step must start at 0")
    if before is not None and after <= before.after_s:
        raise RoutingPolicyError(f"{where}.after_s: must be later than the step before"
                                 f" ({before.after_s:g})")
    if not target and not item.offer_callback:
        raise RoutingPolicyError(f"{where}.skill: a step adds agents or offers a callback")
    return Step(after, target or None, item.min_level, item.any_language, item.offer_callback)
