"""The IVR interpreter: a pure state machine over a flow.

``start(flow, call, config, now)`` and ``advance(state, event, now)`` return a :class:`Step`:
the new state, the one effect to carry out next, and the path entries to record. No I/O, no
clock of its own (``now`` is passed in), no exceptions for anything a caller can do: absurd or
endless digits are bounded by ``config.max_digits`` and the flow's ``limits`` and lead to the
fallback.

Fallback: errors (``Failed``), exhausted retries without a node ``fallback``, too many inputs and
loops without input go to the flow's ``fallback`` node once; if there is none, or the fallback
itself fails, the call is routed to ``config.fallback_skill`` (``general``). If even that
route fails the interpreter asks the runner to give the call back to the dialplan's safety net.

Sensitive ``collect`` values live only in ``state.secrets``; the context, the path and every
effect other than the lookup that needs the value see ``*`` per digit.

This module moves the call between nodes; what each node type does is in :mod:`ivr.nodes`,
:mod:`ivr.nodes_input` and :mod:`ivr.nodes_callback`, the state and steps in :mod:`ivr.steps`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from ivr import nodes, nodes_callback, nodes_input
from ivr.effects import CallInfo, Event, Failed, Hangup, Played, PlayPrompts, Route, RouteRequirements
from ivr.model import Flow, Node, Scalar
from ivr.steps import (
    Fall,
    InterpreterConfig,
    IvrState,
    Jump,
    Outcome,
    ReturnToDialplan,
    Step,
    Trail,
    public_context,
)

_ENTER: dict[str, Callable[[Node, IvrState, Trail], Outcome]] = {
    **nodes.ENTER, **nodes_input.ENTER, **nodes_callback.ENTER}
_ON: dict[str, Callable[[Node, IvrState, Event, Trail], Outcome | None]] = {
    **nodes.ON, **nodes_input.ON, **nodes_callback.ON}


# --- public ----------------------------------------------------------------------------------

def start(flow: Flow, call: CallInfo, config: InterpreterConfig, now: datetime, *,
          language: str | None = None, context: Mapping[str, Scalar] | None = None) -> Step:
    """Begin ``flow`` for ``call``. ``language``/``context`` carry over what an earlier run
    learned (the survey after the IVR)."""
    lang = language if language in flow.languages else flow.default_language
    base: dict[str, Scalar] = {"caller.number": call.caller_number, "caller.name": call.caller_name,
                               "call.extension": call.extension}
    base.update(context or {})
    base["language"] = lang
    state = IvrState(flow=flow, call=call, config=config, language=lang, context=base)
    trail = Trail(now)
    trail.note(flow.entry, "start", flow=flow.id, version=flow.version, language=lang)
    return _goto(state, flow.entry, trail)


def start_fallback(flow: Flow, call: CallInfo, config: InterpreterConfig, now: datetime, reason: str,
                   *, language: str | None = None, context: Mapping[str, Scalar] | None = None) -> Step:
    """Route straight to the fallback skill (the dialplan sent the call back after an AGI failure)."""
    lang = language if language in flow.languages else flow.default_language
    state = IvrState(flow=flow, call=call, config=config, language=lang,
                     context={**(context or {}), "language": lang}, in_fallback=True)
    trail = Trail(now)
    return _safe_route(state, reason, trail)


def advance(state: IvrState, event: Event, now: datetime) -> Step:
    """The next step after ``event`` (the outcome of the last effect)."""
    trail = Trail(now)
    if state.finished:
        return trail.step(state, Hangup("finished"))
    if isinstance(event, Failed):
        trail.note(state.node, "error", reason=event.reason)
        if state.stage == "safe_hold":
            return trail.step(replace(state, finished=True), ReturnToDialplan(event.reason))
        return _fallback(state, event.reason, trail)
    if state.stage == "safe_hold":
        return _safe_route(state, "hold ended", trail)
    node = state.flow.nodes.get(state.node)
    if node is None:
        return _fallback(state, f"no node {state.node!r}", trail)
    outcome = _ON[node.TYPE](node, state, event, trail)
    if outcome is None:
        return _fallback(state, f"unexpected {type(event).__name__} in {node.TYPE} node", trail)
    return _follow(outcome, trail)


def route_after(step: Step, now: datetime) -> Route | None:
    """The route that ``step`` leads to once its prompts have played, when nothing else can
    happen in between: the intro prompts of a ``route`` node (not interruptible). None for any
    other step. The runner queues the hold behind such a prompt (:mod:`ivr.hold`)."""
    state = step.state
    node = state.flow.nodes.get(state.node)
    if not isinstance(step.effect, PlayPrompts) or state.stage != "intro" or node is None \
            or node.TYPE != "route" or state.finished:
        return None
    effect = advance(state, Played(), now).effect
    return effect if isinstance(effect, Route) else None


# --- moving between nodes --------------------------------------------------------------------

def _follow(outcome: Outcome, trail: Trail) -> Step:
    if isinstance(outcome, Jump):
        return _goto(outcome.state, outcome.target, trail)
    if isinstance(outcome, Fall):
        return _fallback(outcome.state, outcome.reason, trail)
    return outcome


def _goto(state: IvrState, target: str, trail: Trail) -> Step:
    while True:
        steps = state.steps + 1
        if steps > state.flow.limits.max_steps:
            return _fallback(state, "too many steps without caller input", trail)
        node = state.flow.nodes.get(target)
        if node is None:
            return _fallback(state, f"no node {target!r}", trail)
        state = replace(state, node=target, stage="", attempts=0, steps=steps, pending={})
        trail.note(target, "node", type=node.TYPE)
        entered = _ENTER[node.TYPE](node, state, trail)
        if not isinstance(entered, Jump):
            return _follow(entered, trail)
        state, target = entered.state, entered.target


def _fallback(state: IvrState, reason: str, trail: Trail) -> Step:
    flow = state.flow
    trail.note(state.node, "fallback", reason=reason)
    if not state.in_fallback and flow.fallback and flow.fallback in flow.nodes:
        return _goto(replace(state, in_fallback=True, steps=0), flow.fallback, trail)
    return _safe_route(state, reason, trail)


def _safe_route(state: IvrState, reason: str, trail: Trail) -> Step:
    requirements = RouteRequirements(skill=state.config.fallback_skill, language=state.language,
                                     priority=state.priority, tags=state.tags)
    trail.note(state.node, "route", fallback=True, reason=reason, **requirements.to_json())
    state = replace(state, stage="safe_hold", in_fallback=True)
    return trail.step(state, Route(requirements, public_context(state), fallback=True))
