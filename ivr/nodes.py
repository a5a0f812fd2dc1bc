"""The flow's other nodes: ``play``, ``lookup``, ``say``, ``branch``, ``set``, ``route``,
``transfer`` and ``hangup``. Each node type has an ``enter`` function (run when the call reaches
the node) and an ``on`` function (the outcome of the node's effect); ``branch`` and ``set`` are
instant: they never wait for an effect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from callcenter.orders.phone import normalize
from ivr.conditions import evaluate
from ivr.effects import (
    OFFER_PROMPTS,
    Event,
    Hangup,
    HoldEnded,
    Lookup,
    LookupDone,
    Played,
    PlayPrompts,
    Route,
    RouteRequirements,
    Say,
    Transfer,
    TransferDone,
)
from ivr.model import (
    BranchNode,
    HangupNode,
    LookupNode,
    Node,
    PlayNode,
    RouteNode,
    SayNode,
    Scalar,
    SetNode,
    TransferNode,
)
from ivr.say import say_date, say_digits, say_number
from ivr.steps import (
    Fall,
    IvrState,
    Jump,
    Outcome,
    Step,
    Trail,
    intro_then,
    mask,
    public_context,
    resolved,
)

# --- play ------------------------------------------------------------------------------------

def _enter_play(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, PlayNode)
    return trail.step(replace(state, stage="play"), PlayPrompts(resolved(state, node.prompts)))


def _on_play(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, PlayNode)
    return Jump(state, node.next) if isinstance(event, Played) else None


# --- lookup ----------------------------------------------------------------------------------

def _enter_lookup(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, LookupNode)
    if node.by == "caller":
        key, kind, sensitive = normalize(state.call.caller_number), "customer", False
    else:
        secret = state.secrets.get(node.key)
        plain = state.context.get(node.key)
        key = secret if secret is not None else ("" if plain is None else str(plain))
        kind, sensitive = "order", secret is not None
    if not key:
        trail.note(node.id, "lookup", lookup=kind, outcome="no_key")
        return Jump(state, node.not_found)
    trail.note(node.id, "lookup", lookup=kind, key=mask(key) if sensitive else key)
    return trail.step(replace(state, stage="lookup"), Lookup(kind, key, sensitive))


def _on_lookup(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, LookupNode)
    if not isinstance(event, LookupDone):
        return None
    if event.failed:
        trail.note(node.id, "lookup_result", outcome="failed")
        return Jump(state, node.failed or node.not_found)
    if event.values is None:
        trail.note(node.id, "lookup_result", outcome="not_found")
        return Jump(state, node.not_found)
    context = {**state.context, **event.values}
    language = state.language
    profile = event.values.get("customer.language")
    if node.apply_language and isinstance(profile, str) and profile in state.flow.languages:
        language = profile
        context["language_source"] = "profile"
    context["language"] = language
    trail.note(node.id, "lookup_result", outcome="found", language=language)
    return Jump(replace(state, context=context, language=language), node.found)


# --- say -------------------------------------------------------------------------------------

def _spoken(node: SayNode, value: Scalar, language: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    text = str(value)
    if node.kind == "digits":
        return say_digits(text[:64])
    if node.kind == "number":
        try:
            return say_number(int(float(text)), language)
        except (ValueError, OverflowError):
            return ()
    if node.kind == "date":
        try:
            return say_date(date.fromisoformat(text[:10]), language)
        except ValueError:
            return ()
    prompt = node.mapping.get(text)
    return (prompt,) if prompt else ()


def _enter_say(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, SayNode)
    secret = state.secrets.get(node.value)
    value: Scalar = secret if secret is not None else state.context.get(node.value)
    spoken = _spoken(node, value, state.language)
    if not spoken and node.default:
        spoken = (node.default,)
    shown = "" if value is None else (mask(str(value)) if secret is not None else str(value)[:64])
    if not spoken:
        trail.note(node.id, "say", read_as=node.kind, value=shown, outcome="nothing_to_say")
        return Jump(state, node.next)
    trail.note(node.id, "say", read_as=node.kind, value=shown)
    prompts = resolved(state, node.prompts + spoken + node.after)
    return trail.step(replace(state, stage="say"), Say(prompts, node.kind, shown))


def _on_say(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, SayNode)
    return Jump(state, node.next) if isinstance(event, Played) else None


# --- branch and set --------------------------------------------------------------------------

def _enter_branch(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, BranchNode)
    context = public_context(state)
    for index, rule in enumerate(node.rules):
        if evaluate(rule.condition, context, state.flow.calendars, trail.now):
            trail.note(node.id, "branch", rule=index, next=rule.next)
            return Jump(state, rule.next)
    trail.note(node.id, "branch", rule="default", next=node.default)
    return Jump(state, node.default)


def _enter_set(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, SetNode)
    context = dict(state.context)
    context.update({k: v for k, v in node.values.items() if k not in state.secrets})
    skill = node.skill or state.skill
    priority = state.priority if node.priority is None else node.priority
    language = node.language or state.language
    tags = state.tags + tuple(t for t in node.tags if t not in state.tags)
    if skill:
        context["route.skill"] = skill
    context["route.priority"] = priority
    context["language"] = language
    if node.language:
        context["language_source"] = "caller"
    changes = {k: v for k, v in (("skill", node.skill), ("priority", node.priority),
                                  ("language", node.language)) if v is not None}
    trail.note(node.id, "set", **changes, tags=list(node.tags), values=dict(node.values))
    return Jump(replace(state, context=context, skill=skill, priority=priority, language=language,
                         tags=tags), node.next)


# --- route -----------------------------------------------------------------------------------

def _route(node: RouteNode, state: IvrState, trail: Trail) -> Step:
    requirements = RouteRequirements(
        skill=node.skill or state.skill or state.config.fallback_skill, min_level=node.min_level,
        language=node.language or state.language,
        priority=state.priority if node.priority is None else node.priority,
        tags=state.tags + tuple(t for t in node.tags if t not in state.tags))
    trail.note(node.id, "route", **requirements.to_json(), max_wait=node.max_wait)
    return trail.step(replace(state, stage="hold"),
                      Route(requirements, public_context(state), node.hold, node.max_wait,
                            offer_prompts=resolved(state, OFFER_PROMPTS)))


def _enter_route(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, RouteNode)
    return intro_then(node.prompts, state, trail, lambda: _route(node, state, trail))


def _on_route(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, RouteNode)
    if state.stage == "intro" and isinstance(event, Played):
        return _route(node, state, trail)
    if state.stage == "hold" and isinstance(event, HoldEnded):
        trail.note(node.id, "hold_ended", overflow=node.overflow)
        if node.overflow:
            return Jump(state, node.overflow)
        return _route(node, state, trail)
    return None


# --- transfer and hangup ---------------------------------------------------------------------

def _transfer(node: TransferNode, state: IvrState, trail: Trail) -> Step:
    effect = Transfer(dial=node.dial, context=node.context, exten=node.exten,
                      priority=node.priority, timeout_s=node.timeout)
    trail.note(node.id, "transfer", dial=node.dial, context=node.context, exten=node.exten)
    return trail.step(replace(state, stage="transfer"), effect)


def _enter_transfer(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, TransferNode)
    return intro_then(node.prompts, state, trail, lambda: _transfer(node, state, trail))


def _on_transfer(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, TransferNode)
    if state.stage == "intro" and isinstance(event, Played):
        return _transfer(node, state, trail)
    if state.stage == "transfer" and isinstance(event, TransferDone):
        trail.note(node.id, "transfer_result", status=event.status)
        if event.status == "ANSWER":
            trail.note(node.id, "hangup", reason="transfer answered")
            return trail.step(replace(state, finished=True, stage="done"), Hangup("transfer ended"))
        if node.failed:
            return Jump(state, node.failed)
        return Fall(state, f"transfer failed: {event.status or 'unknown'}")
    return None


def _enter_hangup(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, HangupNode)
    if node.prompts:
        return trail.step(replace(state, stage="bye"), PlayPrompts(resolved(state, node.prompts)))
    trail.note(node.id, "hangup", reason="flow")
    return trail.step(replace(state, finished=True, stage="done"), Hangup())


def _on_hangup(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, HangupNode)
    if state.stage == "bye" and isinstance(event, Played):
        trail.note(node.id, "hangup", reason="flow")
        return trail.step(replace(state, finished=True, stage="done"), Hangup())
    return None


def _instant_only(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    return None


ENTER: dict[str, Callable[[Node, IvrState, Trail], Outcome]] = {
    "play": _enter_play, "lookup": _enter_lookup, "say": _enter_say, "branch": _enter_branch,
    "set": _enter_set, "route": _enter_route, "transfer": _enter_transfer, "hangup": _enter_hangup,
}
ON: dict[str, Callable[[Node, IvrState, Event, Trail], Outcome | None]] = {
    "play": _on_play, "lookup": _on_lookup, "say": _on_say, "branch": _instant_only,
    "set": _instant_only, "route": _on_route, "transfer": _on_transfer, "hangup": _on_hangup,
}
