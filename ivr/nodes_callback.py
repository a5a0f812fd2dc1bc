"""The ticket nodes: ``callback`` (the number to call back, by default the caller's own) and
``voicemail`` (a recorded message, with a callback ticket when the flow asks for one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from callcenter.orders.phone import normalize
from ivr.effects import (
    CallbackDone,
    CreateCallback,
    DigitsEntered,
    Event,
    GetDigits,
    Played,
    Record,
    Recorded,
)
from ivr.inputs import accept
from ivr.model import CallbackNode, Node, VoicemailNode
from ivr.steps import (
    Fall,
    IvrState,
    Jump,
    Outcome,
    Step,
    Trail,
    count_input,
    intro_then,
    public_context,
    resolved,
    retry,
    shown_digits,
)

# --- callback --------------------------------------------------------------------------------

def _ask_callback(node: CallbackNode, state: IvrState, extra: tuple[str, ...], trail: Trail) -> Step:
    prompts = resolved(state, extra + node.prompts)
    return trail.step(replace(state, stage="input"), GetDigits(prompts, node.max_length, node.timeout))


def _callback_default(state: IvrState) -> str:
    number = normalize(state.call.caller_number).lstrip("+")
    return number if 5 <= len(number) <= 20 else ""


def _create_callback(node: CallbackNode | VoicemailNode, state: IvrState, number: str, trail: Trail,
                     voicemail: str | None = None) -> Step:
    customer = state.context.get("customer.id")
    order = state.context.get("order.number")
    trail.note(node.id, "callback", number=number, voicemail=voicemail)
    effect = CreateCallback(number=number, reason=node.reason, language=state.language,
                            customer_id=customer if isinstance(customer, int) else None,
                            order_number=str(order) if order else None, voicemail=voicemail,
                            context=public_context(state))
    return trail.step(replace(state, stage="ticket", pending={"number": number}), effect)


def _enter_callback(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, CallbackNode)
    return _ask_callback(node, state, (), trail)


def _on_callback(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, CallbackNode)
    if state.stage == "ticket" and isinstance(event, CallbackDone):
        return _callback_done(node, state, event, trail)
    if state.stage != "input" or not isinstance(event, DigitsEntered):
        return None
    state, flooded = count_input(state)
    digits, default = event.digits, _callback_default(state)
    if flooded:
        trail.note(node.id, "input", digits=shown_digits(digits, False), outcome="too_many_inputs")
        return Fall(state, "too many inputs")
    if digits == "" and default:
        trail.note(node.id, "input", digits="", outcome="caller_id")
        return _create_callback(node, state, default, trail)
    if digits and len(digits) <= state.config.max_digits \
            and node.min_length <= len(digits) <= node.max_length and accept(None, digits):
        trail.note(node.id, "input", digits=digits, outcome="accepted")
        return _create_callback(node, state, digits, trail)
    why = "no_input" if digits == "" else "invalid"
    trail.note(node.id, "input", digits=shown_digits(digits, False), outcome=why)
    if state.attempts + 1 > node.max_retries and default:
        return _create_callback(node, state, default, trail)
    return retry(node, state, why, trail, lambda s, extra: _ask_callback(node, s, extra, trail))


def _callback_done(node: CallbackNode, state: IvrState, event: CallbackDone, trail: Trail) -> Outcome:
    if event.ticket_id is None:
        trail.note(node.id, "callback_result", outcome="failed")
        if node.failed:
            return Jump(state, node.failed)
        return Fall(state, "callback ticket not created")
    context = {**state.context, "callback.ticket_id": event.ticket_id,
               "callback.number": state.pending.get("number")}
    trail.note(node.id, "callback_result", outcome="created", ticket_id=event.ticket_id)
    return Jump(replace(state, context=context), node.next)


# --- voicemail -------------------------------------------------------------------------------

def _record(node: VoicemailNode, state: IvrState, trail: Trail) -> Step:
    trail.note(node.id, "record", max_seconds=node.max_seconds)
    return trail.step(replace(state, stage="record"),
                      Record(node.id, node.max_seconds, node.silence_seconds, node.beep))


def _enter_voicemail(node: Any, state: IvrState, trail: Trail) -> Outcome:
    assert isinstance(node, VoicemailNode)
    return intro_then(node.prompts, state, trail, lambda: _record(node, state, trail))


def _on_voicemail(node: Any, state: IvrState, event: Event, trail: Trail) -> Outcome | None:
    assert isinstance(node, VoicemailNode)
    if state.stage == "intro" and isinstance(event, Played):
        return _record(node, state, trail)
    if state.stage == "record" and isinstance(event, Recorded):
        if event.path is None:
            trail.note(node.id, "record_result", outcome="nothing", reason=event.reason)
            return Jump(state, node.next)
        state = replace(state, context={**state.context, "voicemail.file": event.path})
        trail.note(node.id, "record_result", outcome="recorded", file=event.path)
        if node.create_ticket:
            return _create_callback(node, state, _callback_default(state), trail, voicemail=event.path)
        return Jump(state, node.next)
    if state.stage == "ticket" and isinstance(event, CallbackDone):
        if event.ticket_id is not None:
            state = replace(state, context={**state.context, "callback.ticket_id": event.ticket_id})
        trail.note(node.id, "callback_result", outcome="created" if event.ticket_id else "failed",
                   ticket_id=event.ticket_id)
        return Jump(state, node.next)
    return None


ENTER: dict[str, Callable[[Node, IvrState, Trail], Outcome]] = {
    "callback": _enter_callback, "voicemail": _enter_voicemail,
}
ON: dict[str, Callable[[Node, IvrState, Event, Trail], Outcome | None]] = {
    "callback": _on_callback, "voicemail": _on_voicemail,
}
