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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from callcenter.orders.phone import normalize
from ivr.conditions import evaluate
from ivr.effects import (
    CallbackDone,
    CallInfo,
    CreateCallback,
    DigitsEntered,
    Effect,
    Event,
    Failed,
    GetDigits,
    Hangup,
    HoldEnded,
    Lookup,
    LookupDone,
    PathEntry,
    Played,
    PlayPrompts,
    Record,
    Recorded,
    Route,
    RouteRequirements,
    Say,
    Transfer,
    TransferDone,
)
from ivr.inputs import accept
from ivr.model import (
    MENU_DIGITS,
    BranchNode,
    CallbackNode,
    CollectNode,
    Flow,
    HangupNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    RouteNode,
    SayNode,
    Scalar,
    SetNode,
    TransferNode,
    VoicemailNode,
)
from ivr.say import say_date, say_digits, say_number
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


@dataclass(slots=True)
class _Jump:
    state: IvrState
    target: str


class _Trail:
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
    trail = _Trail(now)
    trail.note(flow.entry, "start", flow=flow.id, version=flow.version, language=lang)
    return _goto(state, flow.entry, trail)


def start_fallback(flow: Flow, call: CallInfo, config: InterpreterConfig, now: datetime, reason: str,
                   *, language: str | None = None, context: Mapping[str, Scalar] | None = None) -> Step:
    """Route straight to the fallback skill (the dialplan sent the call back after an AGI failure)."""
    lang = language if language in flow.languages else flow.default_language
    state = IvrState(flow=flow, call=call, config=config, language=lang,
                     context={**(context or {}), "language": lang}, in_fallback=True)
    trail = _Trail(now)
    return _safe_route(state, reason, trail)


def advance(state: IvrState, event: Event, now: datetime) -> Step:
    """The next step after ``event`` (the outcome of the last effect)."""
    trail = _Trail(now)
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
    handler = _HANDLERS[node.TYPE]
    result = handler(node, state, event, trail)
    if result is None:
        return _fallback(state, f"unexpected {type(event).__name__} in {node.TYPE} node", trail)
    return result


def mask(value: str) -> str:
    return "*" * len(value)


# --- moving between nodes --------------------------------------------------------------------

def _goto(state: IvrState, target: str, trail: _Trail) -> Step:
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
        if isinstance(entered, Step):
            return entered
        state, target = entered.state, entered.target


def _fallback(state: IvrState, reason: str, trail: _Trail) -> Step:
    flow = state.flow
    trail.note(state.node, "fallback", reason=reason)
    if not state.in_fallback and flow.fallback and flow.fallback in flow.nodes:
        return _goto(replace(state, in_fallback=True, steps=0), flow.fallback, trail)
    return _safe_route(state, reason, trail)


def _safe_route(state: IvrState, reason: str, trail: _Trail) -> Step:
    requirements = RouteRequirements(skill=state.config.fallback_skill, language=state.language,
                                     priority=state.priority, tags=state.tags)
    trail.note(state.node, "route", fallback=True, reason=reason, **requirements.to_json())
    state = replace(state, stage="safe_hold", in_fallback=True)
    return trail.step(state, Route(requirements, _public(state), fallback=True))


def _count_input(state: IvrState) -> tuple[IvrState, bool]:
    inputs = state.inputs + 1
    return replace(state, inputs=inputs, steps=0), inputs > state.flow.limits.max_inputs


def _prompts(state: IvrState, names: tuple[str, ...]) -> tuple[str, ...]:
    return state.config.resolver.resolve_all(names, state.language)


def _public(state: IvrState) -> dict[str, Scalar]:
    return {**state.context, "language": state.language}


def _shown(digits: str, sensitive: bool) -> str:
    cut = digits[:SHOWN_DIGITS]
    text = mask(cut) if sensitive else "".join(c if c in "0123456789*#ABCD" else "?" for c in cut)
    return text + ("…" if len(digits) > SHOWN_DIGITS else "")


def _retry(node: MenuNode | CollectNode | CallbackNode, state: IvrState, why: str, trail: _Trail,
           ask: Callable[[IvrState, tuple[str, ...]], Step]) -> Step:
    attempts = state.attempts + 1
    if attempts > node.max_retries:
        trail.note(node.id, "retries_exhausted", last=why)
        if node.fallback:
            return _goto(state, node.fallback, trail)
        return _fallback(state, f"{node.id}: no valid input after {attempts} tries", trail)
    extra = node.invalid_prompts if why == "invalid" else node.no_input_prompts
    return ask(replace(state, attempts=attempts), extra)


# --- play ------------------------------------------------------------------------------------

def _enter_play(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, PlayNode)
    return trail.step(replace(state, stage="play"), PlayPrompts(_prompts(state, node.prompts)))


def _on_play(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, PlayNode)
    return _goto(state, node.next, trail) if isinstance(event, Played) else None


# --- menu ------------------------------------------------------------------------------------

def _ask_menu(node: MenuNode, state: IvrState, extra: tuple[str, ...], trail: _Trail) -> Step:
    interrupt = "".join(d for d in node.choices if len(d) == 1 and d in MENU_DIGITS)
    prompts = _prompts(state, extra + node.prompts)
    return trail.step(replace(state, stage="input"),
                      GetDigits(prompts, 1, node.timeout, interrupt=interrupt))


def _enter_menu(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, MenuNode)
    return _ask_menu(node, state, (), trail)


def _on_menu(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, MenuNode)
    if not isinstance(event, DigitsEntered):
        return None
    state, flooded = _count_input(state)
    digits = event.digits
    if flooded:
        trail.note(node.id, "input", digits=_shown(digits, False), outcome="too_many_inputs")
        return _fallback(state, "too many inputs", trail)
    if digits in node.choices:
        trail.note(node.id, "input", digits=digits, outcome="choice", next=node.choices[digits])
        return _goto(state, node.choices[digits], trail)
    why = "no_input" if digits == "" else "invalid"
    trail.note(node.id, "input", digits=_shown(digits, False), outcome=why)
    return _retry(node, state, why, trail, lambda s, extra: _ask_menu(node, s, extra, trail))


# --- collect ---------------------------------------------------------------------------------

def _ask_collect(node: CollectNode, state: IvrState, extra: tuple[str, ...], trail: _Trail) -> Step:
    prompts = _prompts(state, extra + node.prompts)
    return trail.step(replace(state, stage="input"),
                      GetDigits(prompts, node.max_length, node.timeout, sensitive=node.sensitive))


def _enter_collect(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, CollectNode)
    return _ask_collect(node, state, (), trail)


def _on_collect(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, CollectNode)
    if not isinstance(event, DigitsEntered):
        return None
    state, flooded = _count_input(state)
    raw = event.digits
    if node.terminator == "*" and "*" in raw[: state.config.max_digits + 1]:
        raw = raw.split("*", 1)[0]
    shown = _shown(raw, node.sensitive)
    if flooded:
        trail.note(node.id, "input", digits=shown, outcome="too_many_inputs")
        return _fallback(state, "too many inputs", trail)
    value: str | None = None
    if raw and len(raw) <= state.config.max_digits and node.min_length <= len(raw) <= node.max_length:
        value = accept(node.validator, raw)
    if value is None:
        why = "no_input" if raw == "" else "invalid"
        trail.note(node.id, "input", digits=shown, outcome=why, timed_out=event.timed_out)
        return _retry(node, state, why, trail, lambda s, extra: _ask_collect(node, s, extra, trail))
    trail.note(node.id, "input", digits=shown, outcome="accepted", store=node.store)
    if node.sensitive:
        state = replace(state, context={**state.context, node.store: mask(value)},
                        secrets={**state.secrets, node.store: value})
    else:
        state = replace(state, context={**state.context, node.store: value})
    return _goto(state, node.next, trail)


# --- lookup ----------------------------------------------------------------------------------

def _enter_lookup(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
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
        return _Jump(state, node.not_found)
    trail.note(node.id, "lookup", lookup=kind, key=mask(key) if sensitive else key)
    return trail.step(replace(state, stage="lookup"), Lookup(kind, key, sensitive))


def _on_lookup(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, LookupNode)
    if not isinstance(event, LookupDone):
        return None
    if event.failed:
        trail.note(node.id, "lookup_result", outcome="failed")
        return _goto(state, node.failed or node.not_found, trail)
    if event.values is None:
        trail.note(node.id, "lookup_result", outcome="not_found")
        return _goto(state, node.not_found, trail)
    context = {**state.context, **event.values}
    language = state.language
    profile = event.values.get("customer.language")
    if node.apply_language and isinstance(profile, str) and profile in state.flow.languages:
        language = profile
        context["language_source"] = "profile"
    context["language"] = language
    trail.note(node.id, "lookup_result", outcome="found", language=language)
    return _goto(replace(state, context=context, language=language), node.found, trail)


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


def _enter_say(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, SayNode)
    secret = state.secrets.get(node.value)
    value: Scalar = secret if secret is not None else state.context.get(node.value)
    spoken = _spoken(node, value, state.language)
    if not spoken and node.default:
        spoken = (node.default,)
    shown = "" if value is None else (mask(str(value)) if secret is not None else str(value)[:64])
    if not spoken:
        trail.note(node.id, "say", read_as=node.kind, value=shown, outcome="nothing_to_say")
        return _Jump(state, node.next)
    trail.note(node.id, "say", read_as=node.kind, value=shown)
    prompts = _prompts(state, node.prompts + spoken + node.after)
    return trail.step(replace(state, stage="say"), Say(prompts, node.kind, shown))


def _on_say(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, SayNode)
    return _goto(state, node.next, trail) if isinstance(event, Played) else None


# --- branch and set --------------------------------------------------------------------------

def _enter_branch(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, BranchNode)
    context = _public(state)
    for index, rule in enumerate(node.rules):
        if evaluate(rule.condition, context, state.flow.calendars, trail.now):
            trail.note(node.id, "branch", rule=index, next=rule.next)
            return _Jump(state, rule.next)
    trail.note(node.id, "branch", rule="default", next=node.default)
    return _Jump(state, node.default)


def _enter_set(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
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
    return _Jump(replace(state, context=context, skill=skill, priority=priority, language=language,
                         tags=tags), node.next)


# --- route -----------------------------------------------------------------------------------

def _route(node: RouteNode, state: IvrState, trail: _Trail) -> Step:
    requirements = RouteRequirements(
        skill=node.skill or state.skill or state.config.fallback_skill, min_level=node.min_level,
        language=node.language or state.language,
        priority=state.priority if node.priority is None else node.priority,
        tags=state.tags + tuple(t for t in node.tags if t not in state.tags))
    trail.note(node.id, "route", **requirements.to_json(), max_wait=node.max_wait)
    return trail.step(replace(state, stage="hold"),
                      Route(requirements, _public(state), node.hold, node.max_wait))


def _enter_route(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, RouteNode)
    if node.prompts:
        return trail.step(replace(state, stage="intro"), PlayPrompts(_prompts(state, node.prompts)))
    return _route(node, state, trail)


def _on_route(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, RouteNode)
    if state.stage == "intro" and isinstance(event, Played):
        return _route(node, state, trail)
    if state.stage == "hold" and isinstance(event, HoldEnded):
        trail.note(node.id, "hold_ended", overflow=node.overflow)
        if node.overflow:
            return _goto(state, node.overflow, trail)
        return _route(node, state, trail)
    return None


# --- callback --------------------------------------------------------------------------------

def _ask_callback(node: CallbackNode, state: IvrState, extra: tuple[str, ...], trail: _Trail) -> Step:
    prompts = _prompts(state, extra + node.prompts)
    return trail.step(replace(state, stage="input"), GetDigits(prompts, node.max_length, node.timeout))


def _callback_default(state: IvrState) -> str:
    number = normalize(state.call.caller_number).lstrip("+")
    return number if 5 <= len(number) <= 20 else ""


def _create_callback(node: CallbackNode | VoicemailNode, state: IvrState, number: str, trail: _Trail,
                     voicemail: str | None = None) -> Step:
    customer = state.context.get("customer.id")
    order = state.context.get("order.number")
    trail.note(node.id, "callback", number=number, voicemail=voicemail)
    effect = CreateCallback(number=number, reason=node.reason, language=state.language,
                            customer_id=customer if isinstance(customer, int) else None,
                            order_number=str(order) if order else None, voicemail=voicemail,
                            context=_public(state))
    return trail.step(replace(state, stage="ticket", pending={"number": number}), effect)


def _enter_callback(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, CallbackNode)
    return _ask_callback(node, state, (), trail)


def _on_callback(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, CallbackNode)
    if state.stage == "ticket" and isinstance(event, CallbackDone):
        return _callback_done(node, state, event, trail)
    if state.stage != "input" or not isinstance(event, DigitsEntered):
        return None
    state, flooded = _count_input(state)
    digits, default = event.digits, _callback_default(state)
    if flooded:
        trail.note(node.id, "input", digits=_shown(digits, False), outcome="too_many_inputs")
        return _fallback(state, "too many inputs", trail)
    if digits == "" and default:
        trail.note(node.id, "input", digits="", outcome="caller_id")
        return _create_callback(node, state, default, trail)
    if digits and len(digits) <= state.config.max_digits \
            and node.min_length <= len(digits) <= node.max_length and accept(None, digits):
        trail.note(node.id, "input", digits=digits, outcome="accepted")
        return _create_callback(node, state, digits, trail)
    why = "no_input" if digits == "" else "invalid"
    trail.note(node.id, "input", digits=_shown(digits, False), outcome=why)
    if state.attempts + 1 > node.max_retries and default:
        return _create_callback(node, state, default, trail)
    return _retry(node, state, why, trail, lambda s, extra: _ask_callback(node, s, extra, trail))


def _callback_done(node: CallbackNode, state: IvrState, event: CallbackDone, trail: _Trail) -> Step:
    if event.ticket_id is None:
        trail.note(node.id, "callback_result", outcome="failed")
        if node.failed:
            return _goto(state, node.failed, trail)
        return _fallback(state, "callback ticket not created", trail)
    context = {**state.context, "callback.ticket_id": event.ticket_id,
               "callback.number": state.pending.get("number")}
    trail.note(node.id, "callback_result", outcome="created", ticket_id=event.ticket_id)
    return _goto(replace(state, context=context), node.next, trail)


# --- voicemail -------------------------------------------------------------------------------

def _record(node: VoicemailNode, state: IvrState, trail: _Trail) -> Step:
    trail.note(node.id, "record", max_seconds=node.max_seconds)
    return trail.step(replace(state, stage="record"),
                      Record(node.id, node.max_seconds, node.silence_seconds, node.beep))


def _enter_voicemail(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, VoicemailNode)
    if node.prompts:
        return trail.step(replace(state, stage="intro"), PlayPrompts(_prompts(state, node.prompts)))
    return _record(node, state, trail)


def _on_voicemail(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, VoicemailNode)
    if state.stage == "intro" and isinstance(event, Played):
        return _record(node, state, trail)
    if state.stage == "record" and isinstance(event, Recorded):
        if event.path is None:
            trail.note(node.id, "record_result", outcome="nothing", reason=event.reason)
            return _goto(state, node.next, trail)
        state = replace(state, context={**state.context, "voicemail.file": event.path})
        trail.note(node.id, "record_result", outcome="recorded", file=event.path)
        if node.create_ticket:
            return _create_callback(node, state, _callback_default(state), trail, voicemail=event.path)
        return _goto(state, node.next, trail)
    if state.stage == "ticket" and isinstance(event, CallbackDone):
        if event.ticket_id is not None:
            state = replace(state, context={**state.context, "callback.ticket_id": event.ticket_id})
        trail.note(node.id, "callback_result", outcome="created" if event.ticket_id else "failed",
                   ticket_id=event.ticket_id)
        return _goto(state, node.next, trail)
    return None


# --- transfer and hangup ---------------------------------------------------------------------

def _transfer(node: TransferNode, state: IvrState, trail: _Trail) -> Step:
    effect = Transfer(dial=node.dial, context=node.context, exten=node.exten,
                      priority=node.priority, timeout_s=node.timeout)
    trail.note(node.id, "transfer", dial=node.dial, context=node.context, exten=node.exten)
    return trail.step(replace(state, stage="transfer"), effect)


def _enter_transfer(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, TransferNode)
    if node.prompts:
        return trail.step(replace(state, stage="intro"), PlayPrompts(_prompts(state, node.prompts)))
    return _transfer(node, state, trail)


def _on_transfer(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, TransferNode)
    if state.stage == "intro" and isinstance(event, Played):
        return _transfer(node, state, trail)
    if state.stage == "transfer" and isinstance(event, TransferDone):
        trail.note(node.id, "transfer_result", status=event.status)
        if event.status == "ANSWER":
            trail.note(node.id, "hangup", reason="transfer answered")
            return trail.step(replace(state, finished=True, stage="done"), Hangup("transfer ended"))
        if node.failed:
            return _goto(state, node.failed, trail)
        return _fallback(state, f"transfer failed: {event.status or 'unknown'}", trail)
    return None


def _enter_hangup(node: Any, state: IvrState, trail: _Trail) -> Step | _Jump:
    assert isinstance(node, HangupNode)
    if node.prompts:
        return trail.step(replace(state, stage="bye"), PlayPrompts(_prompts(state, node.prompts)))
    trail.note(node.id, "hangup", reason="flow")
    return trail.step(replace(state, finished=True, stage="done"), Hangup())


def _on_hangup(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    assert isinstance(node, HangupNode)
    if state.stage == "bye" and isinstance(event, Played):
        trail.note(node.id, "hangup", reason="flow")
        return trail.step(replace(state, finished=True, stage="done"), Hangup())
    return None


def _instant_only(node: Any, state: IvrState, event: Event, trail: _Trail) -> Step | None:
    return None


_ENTER: dict[str, Callable[[Node, IvrState, _Trail], Step | _Jump]] = {
    "play": _enter_play, "menu": _enter_menu, "collect": _enter_collect, "lookup": _enter_lookup,
    "say": _enter_say, "branch": _enter_branch, "set": _enter_set, "route": _enter_route,
    "callback": _enter_callback, "voicemail": _enter_voicemail, "transfer": _enter_transfer,
    "hangup": _enter_hangup,
}
_HANDLERS: dict[str, Callable[[Node, IvrState, Event, _Trail], Step | None]] = {
    "play": _on_play, "menu": _on_menu, "collect": _on_collect, "lookup": _on_lookup,
    "say": _on_say, "branch": _instant_only, "set": _instant_only, "route": _on_route,
    "callback": _on_callback, "voicemail": _on_voicemail, "transfer": _on_transfer,
    "hangup": _on_hangup,
}
