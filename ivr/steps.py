"""The interpreter's data: where a call is (:class:`IvrState`), what it does next (:class:`Step`),
and what a node decides (:data:`Outcome`), plus the small pure helpers the node modules share.

A node never moves to another node itself: it returns a :class:`Step` (an effect to carry out),
a :class:`Jump` (go to that node) or a :class:`Fall` (go to the fallback, with the reason);
:mod:`ivr.interpreter` follows jumps and falls. So the node modules depend on this one only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ivr.effects import CallInfo, Effect, PathEntry, PlayPrompts
from ivr.model import CallbackNode, CollectNode, Flow, MenuNode, Scalar
from ivr.sounds import PromptResolver, SoundIndex

SHOWN_DIGITS = 32  # longer input is cut in the path and logs


@dataclass(frozen=True, slots=True)
class ReturnToDialplan:
    """Give the call back to the dialplan after ``AGI(agi:async)`` (its safety net)."""

    reason: str


AnyEffect = Effect | ReturnToDialplan


@dataclass(frozen=True, slots=True)
class InterpreterConfig:
    """What the interpreter needs besides the flow.

    Args:
        resolver: prompt names → per-language sound names.
        fallback_skill: where the safe fallback routes calls.
        max_digits: any digit string longer than this is refused unread (hostile input).
    """

    resolver: PromptResolver = field(default_factory=lambda: PromptResolver(SoundIndex.of(())))
    fallback_skill: str = "general"
    max_digits: int = 64


@dataclass(frozen=True, slots=True)
class IvrState:
    """Where one call is. Never mutated: every step returns a new one. ``context`` holds the
    public values (masked where sensitive), ``secrets`` the real sensitive ones."""

    flow: Flow
    call: CallInfo
    config: InterpreterConfig
    language: str
    node: str = ""
    stage: str = ""
    context: Mapping[str, Scalar] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    attempts: int = 0
    inputs: int = 0
    steps: int = 0
    skill: str = ""
    priority: int = 0
    tags: tuple[str, ...] = ()
    in_fallback: bool = False
    finished: bool = False
    pending: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    state: IvrState
    effect: AnyEffect
    path: tuple[PathEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Jump:
    """Go on at node ``target`` (the interpreter enters it)."""

    state: IvrState
    target: str


@dataclass(frozen=True, slots=True)
class Fall:
    """Go to the flow's fallback (or the safe route) because of ``reason``."""

    state: IvrState
    reason: str


Outcome = Step | Jump | Fall


class Trail:
    """Path entries collected while computing one step."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.entries: list[PathEntry] = []

    def note(self, node: str, kind: str, /, **data: Any) -> None:
        self.entries.append(PathEntry(self.now, node, kind, data))

    def step(self, state: IvrState, effect: AnyEffect) -> Step:
        prompts = getattr(effect, "prompts", None)
        if prompts:
            self.note(state.node, "prompts", prompts=list(prompts))
        return Step(state, effect, tuple(self.entries))


def mask(value: str) -> str:
    return "*" * len(value)


def shown_digits(digits: str, sensitive: bool) -> str:
    """Digits as the path and the logs show them: cut, masked when sensitive, non-DTMF as ``?``."""
    cut = digits[:SHOWN_DIGITS]
    text = mask(cut) if sensitive else "".join(c if c in "0123456789*#ABCD" else "?" for c in cut)
    return text + ("…" if len(digits) > SHOWN_DIGITS else "")


def resolved(state: IvrState, names: tuple[str, ...]) -> tuple[str, ...]:
    return state.config.resolver.resolve_all(names, state.language)


def intro_then(prompts: tuple[str, ...], state: IvrState, trail: Trail,
               then: Callable[[], Outcome]) -> Outcome:
    """A node's intro prompts first (its ``intro`` stage), else straight to ``then()``."""
    if prompts:
        return trail.step(replace(state, stage="intro"), PlayPrompts(resolved(state, prompts)))
    return then()


def public_context(state: IvrState) -> dict[str, Scalar]:
    return {**state.context, "language": state.language}


def count_input(state: IvrState) -> tuple[IvrState, bool]:
    """One more caller input; True when the flow's ``max_inputs`` is passed (a flood)."""
    inputs = state.inputs + 1
    return replace(state, inputs=inputs, steps=0), inputs > state.flow.limits.max_inputs


def retry(node: MenuNode | CollectNode | CallbackNode, state: IvrState, why: str, trail: Trail,
          ask: Callable[[IvrState, tuple[str, ...]], Step]) -> Outcome:
    """Ask again with the node's invalid/no-input prompts first, or give up after ``max_retries``."""
    attempts = state.attempts + 1
    if attempts > node.max_retries:
        trail.note(node.id, "retries_exhausted", last=why)
        if node.fallback:
            return Jump(state, node.fallback)
        return Fall(state, f"{node.id}: no valid input after {attempts} tries")
    extra = node.invalid_prompts if why == "invalid" else node.no_input_prompts
    return ask(replace(state, attempts=attempts), extra)
