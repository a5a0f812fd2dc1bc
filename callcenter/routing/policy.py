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

A call's priority is a weighted sum (``priority:``): the IVR's priority, tags such as ``vip``,
``repeat_caller`` and ``callback``, and the order value (capped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from callcenter.agents.model import MAX_LEVEL, MIN_LEVEL, AgentState, check_reason
from callcenter.routing.errors import RoutingPolicyError


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
    service_level_s: float = 20.0
    sticky_s: float = 0.0
    on_no_answer: Reaction = Reaction(AgentState.PAUSED, "missed")
    on_busy: Reaction = Reaction(AgentState.PAUSED, "phone_busy")
    on_unavailable: Reaction = Reaction(AgentState.READY)
    on_failed: Reaction = Reaction(AgentState.PAUSED, "offer_failed")

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


# --- parsing -----------------------------------------------------------------------------------

_SKILL_KEYS = {"strategy", "ring_timeout_s", "wrap_up_s", "service_level_s", "sticky_s",
               "on_no_answer", "on_busy", "on_unavailable", "on_failed"}


def parse_policy(data: Any, known_skills: Iterable[str] | None = None) -> RoutingPolicy:
    """Build the policy from plain data (the YAML document).

    Args:
        known_skills: when given, every skill named must be one of these.

    Raises:
        RoutingPolicyError: the message starts with the bad field's path.
    """
    known = frozenset(known_skills) if known_skills is not None else None
    root = _Fields(data if data is not None else {}, "")
    root.only({"version", "defaults", "priority", "skills", "offer_grace_s", "login_state"})
    version = root.integer("version", 1, 1, 1)
    del version
    base = SkillPolicy("*", (Step(0.0),))
    defaults_data = root.sub("defaults")
    defaults_data.only(_SKILL_KEYS)
    defaults = _skill_settings(defaults_data, base)
    skills: dict[str, SkillPolicy] = {}
    skills_data = root.sub("skills")
    for name in skills_data.names():
        if known is not None and name not in known:
            raise RoutingPolicyError(f"skills.{name}: unknown skill (known: {', '.join(sorted(known))})")
        entry = skills_data.sub(name)
        entry.only(_SKILL_KEYS | {"steps"})
        settings = _skill_settings(entry, replace(defaults, skill=name))
        steps = _steps(entry, name, known)
        skills[name] = replace(settings, steps=steps)
    return RoutingPolicy(
        defaults=defaults,
        skills=MappingProxyType(skills),
        priority=_priority(root.sub("priority")),
        offer_grace_s=root.number("offer_grace_s", 10.0, 0.0, 600.0),
        login_state=_reaction(root, "login_state", Reaction(AgentState.PAUSED, "login")),
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


def _skill_settings(f: _Fields, base: SkillPolicy) -> SkillPolicy:
    strategy_name = f.string("strategy", base.strategy.value)
    try:
        strategy = Strategy(strategy_name)
    except ValueError:
        raise RoutingPolicyError(f"{f.path('strategy')}: unknown strategy {strategy_name!r}"
                                 f" (one of {', '.join(s.value for s in Strategy)})") from None
    return replace(
        base,
        strategy=strategy,
        ring_timeout_s=f.number("ring_timeout_s", base.ring_timeout_s, 1.0, 600.0),
        wrap_up_s=f.number("wrap_up_s", base.wrap_up_s, 0.0, 3600.0),
        service_level_s=f.number("service_level_s", base.service_level_s, 1.0, 3600.0),
        sticky_s=f.number("sticky_s", base.sticky_s, 0.0, 3600.0),
        on_no_answer=_reaction(f, "on_no_answer", base.on_no_answer),
        on_busy=_reaction(f, "on_busy", base.on_busy),
        on_unavailable=_reaction(f, "on_unavailable", base.on_unavailable),
        on_failed=_reaction(f, "on_failed", base.on_failed),
    )


def _reaction(f: _Fields, key: str, default: Reaction) -> Reaction:
    if key not in f.data:
        return default
    r = f.sub(key)
    r.only({"state", "reason"})
    state_name = r.string("state", default.state.value)
    if state_name not in ("ready", "paused", "offline"):
        raise RoutingPolicyError(f"{r.path('state')}: must be ready, paused or offline")
    state = AgentState(state_name)
    reason = r.string("reason", "")
    if state is AgentState.PAUSED:
        if not reason:
            raise RoutingPolicyError(f"{r.path('reason')}: required when the state is paused")
        try:
            check_reason(reason, r.path("reason"))
        except ValueError as exc:
            raise RoutingPolicyError(str(exc)) from None
    elif reason:
        raise RoutingPolicyError(f"{r.path('reason')}: only a paused state has a reason")
    return Reaction(state, reason)


def _steps(f: _Fields, skill: str, known: frozenset[str] | None) -> tuple[Step, ...]:
    items = f.list("steps")
    if not items:
        raise RoutingPolicyError(f"{f.path('steps')}: at least one step is required")
    steps: list[Step] = []
    for i, item in enumerate(items):
        s = _Fields(item, f.path(f"steps[{i}]"))
        s.only({"after_s", "skill", "min_level", "any_language", "offer_callback"})
        after = s.number("after_s", 0.0 if i == 0 else None, 0.0, 86400.0)
        callback = s.boolean("offer_callback", False)
        target = s.string("skill", "" if callback else skill) or None
        if target is not None and known is not None and target not in known:
            raise RoutingPolicyError(f"{s.path('skill')}: unknown skill {target!r}")
        level = s.integer("min_level", MIN_LEVEL, MIN_LEVEL, MAX_LEVEL)
        if i == 0 and after != 0:
            raise RoutingPolicyError(f"{s.path('after_s')}: the first step must start at 0")
        if steps and after <= steps[-1].after_s:
            raise RoutingPolicyError(f"{s.path('after_s')}: must be later than the step before"
                                     f" ({steps[-1].after_s:g})")
        if target is None and not callback:
            raise RoutingPolicyError(f"{s.path('skill')}: a step adds agents or offers a callback")
        steps.append(Step(after, target, level, s.boolean("any_language", False), callback))
    if steps[0].skill is None:
        raise RoutingPolicyError(f"{f.path('steps[0]')}: the first step must name agents")
    return tuple(steps)


def _priority(f: _Fields) -> PriorityWeights:
    f.only({"ivr", "tags", "order_value"})
    tags_f = f.sub("tags")
    tags = {name: tags_f.number(name, None, -1e6, 1e6) for name in tags_f.names()}
    ov = f.sub("order_value")
    ov.only({"points_per_unit", "max_points"})
    return PriorityWeights(
        ivr=f.number("ivr", 10.0, -1e6, 1e6),
        tags=MappingProxyType(tags),
        order_value_per_unit=ov.number("points_per_unit", 0.0, 0.0, 1e6),
        order_value_max=ov.number("max_points", 0.0, 0.0, 1e6),
    )


class _Fields:
    """Typed reads from one mapping, every error naming ``path.key``."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise RoutingPolicyError(f"{path or 'policy'}: must be a mapping")
        self.data: dict[str, Any] = data
        self._path = path

    def path(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def names(self) -> list[str]:
        return [str(k) for k in self.data]

    def only(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise RoutingPolicyError(f"{self.path(str(key))}: unknown key"
                                         f" (expected one of {', '.join(sorted(allowed))})")

    def sub(self, key: str) -> _Fields:
        return _Fields(self.data.get(key) or {}, self.path(key))

    def list(self, key: str) -> list[Any]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise RoutingPolicyError(f"{self.path(key)}: must be a list")
        return value

    def number(self, key: str, default: float | None, low: float, high: float) -> float:
        value = self.data.get(key, default)
        if value is None:
            raise RoutingPolicyError(f"{self.path(key)}: required")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RoutingPolicyError(f"{self.path(key)}: must be a number")
        if not low <= value <= high:
            raise RoutingPolicyError(f"{self.path(key)}: must be between {low:g} and {high:g}")
        return float(value)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise RoutingPolicyError(f"{self.path(key)}: must be an integer")
        if not low <= value <= high:
            raise RoutingPolicyError(f"{self.path(key)}: must be between {low} and {high}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise RoutingPolicyError(f"{self.path(key)}: must be true or false")
        return value

    def string(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise RoutingPolicyError(f"{self.path(key)}: must be a string")
        return value
