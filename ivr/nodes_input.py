"""The caller's input nodes: ``menu`` (one digit picks the next node) and ``collect`` (a value
checked by its validator, stored in the context, or only in the secrets when sensitive)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ivr.effects import (
    DigitsEntered,
    Event,
    GetDigits,
)
from ivr.inputs import accept
from ivr.model import MENU_DIGITS, CollectNode, MenuNode, Node
from ivr.steps import (
    Fall,
    IvrState,
    Jump,
    Outcome,
    Step,
    Trail,
    count_input,
    mask,
    resolved,
    retry,
    shown_digits,
)

# --- menu ------------------------------------------------------------------------------------

def _ask_menu(node: MenuNode, state: IvrState, extra: tuple[str, ...], trail: Trail) -> Step:
    interrupt = "".join(d for d in node.choices if len(d) == 1 and d in MENU_DIGITS)
    prompts = resolved(state, extra + node.prompts)
    return trail.step(replace(state, stage="input"),
                      GetDigits(prompts, 1, node.timeout, interrupt=interrupt))


def _enter_menu(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, MenuNode)
    return _ask_menu(node, state, (), trail)


def _on_menu(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, MenuNode)
    if not isinstance(event, DigitsEntered):
        return None
    state, flooded = count_input(state)
    digits = event.digits
    if flooded:
        trail.note(node.id, "input", digits=shown_digits(digits, False), outcome="too_many_inputs")
        return Fall(state, "too many inputs")
    if digits in node.choices:
        trail.note(node.id, "input", digits=digits, outcome="choice", next=node.choices[digits])
        return Jump(state, node.choices[digits])
    why = "no_input" if digits == "" else "invalid"
    trail.note(node.id, "input", digits=shown_digits(digits, False), outcome=why)
    return retry(node, state, why, trail, lambda s, extra: _ask_menu(node, s, extra, trail))


# --- collect ---------------------------------------------------------------------------------

def _ask_collect(node: CollectNode, state: IvrState, extra: tuple[str, ...], trail: Trail) -> Step:
    prompts = resolved(state, extra + node.prompts)
    return trail.step(replace(state, stage="input"),
                      GetDigits(prompts, node.max_length, node.timeout, sensitive=node.sensitive))


def _enter_collect(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, CollectNode)
    return _ask_collect(node, state, (), trail)


def _on_collect(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, CollectNode)
    if not isinstance(event, DigitsEntered):
        return None
    state, flooded = count_input(state)
    raw = event.digits
    if node.terminator == "*" and "*" in raw[: state.config.max_digits + 1]:
        raw = raw.split("*", 1)[0]
    shown = shown_digits(raw, node.sensitive)
    if flooded:
        trail.note(node.id, "input", digits=shown, outcome="too_many_inputs")
        return Fall(state, "too many inputs")
    value: str | None = None
    if raw and len(raw) <= state.config.max_digits and node.min_length <= len(raw) <= node.max_length:
        value = accept(node.validator, raw)
    if value is None:
        why = "no_input" if raw == "" else "invalid"
        trail.note(node.id, "input", digits=shown, outcome=why, timed_out=event.timed_out)
        return retry(node, state, why, trail, lambda s, extra: _ask_collect(node, s, extra, trail))
    trail.note(node.id, "input", digits=shown, outcome="accepted", store=node.store)
    if node.sensitive:
        state = replace(state, context={**state.context, node.store: mask(value)},
                        secrets={**state.secrets, node.store: value})
    else:
        state = replace(state, context={**state.context, node.store: value})
    return Jump(state, node.next)


ENTER: dict[str, Callable[[Node, IvrState, Trail], Outcome]] = {
    "menu": _enter_menu, "collect": _enter_collect,
}
ON: dict[str, Callable[[Node, IvrState, Event, Trail], Outcome | None]] = {
    "menu": _on_menu, "collect": _on_collect,
}
