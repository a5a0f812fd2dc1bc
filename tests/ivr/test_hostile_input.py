"""Hostile DTMF (property-based): whatever a caller or a broken PBX sends, the interpreter never
raises, never loops forever, and every call ends in a route, a hang-up or the dialplan's net."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.effects import (
    CallbackDone,
    CreateCallback,
    DigitsEntered,
    Event,
    GetDigits,
    Hangup,
    HoldEnded,
    Lookup,
    LookupDone,
    Played,
    PlayPrompts,
    Record,
    Recorded,
    Route,
    Say,
    Transfer,
    TransferDone,
)
from ivr.loader import load_flow
from ivr.steps import ReturnToDialplan
from tests.ivr.helpers import MONDAY_10, Driver, flow_of

AFTERSALES = load_flow(Path(__file__).resolve().parents[2] / "config" / "ivr" / "aftersales.yaml")

digit_strings = st.one_of(
    st.text(alphabet="0123456789*#", max_size=30),
    st.text(max_size=40),  # anything at all, including non-ASCII digits and control characters
    st.builds(lambda n, c: c * n, st.integers(0, 20_000), st.sampled_from("0123456789*#Ａ٣\x00")),
)
inputs = st.lists(st.tuples(digit_strings, st.booleans()), max_size=150)
customer = st.one_of(st.none(), st.fixed_dictionaries({
    "customer.id": st.integers(1, 10**6), "customer.tier": st.sampled_from(["vip", "standard", ""]),
    "customer.language": st.sampled_from(["zh", "en", "fr", ""])}))
order = st.one_of(st.none(), st.fixed_dictionaries({
    "order.number": st.just("10000011"), "order.status": st.text(max_size=12),
    "shipment.status": st.one_of(st.none(), st.text(max_size=12)),
    "shipment.status_at": st.one_of(st.none(), st.text(max_size=12), st.just("2026-11-20"))}))


def answer(effect: object, feed: list[tuple[str, bool]], cust: object, found: object) -> Event | None:
    if isinstance(effect, GetDigits):
        digits, timed_out = feed.pop(0) if feed else ("", True)
        return DigitsEntered(digits, timed_out)
    if isinstance(effect, PlayPrompts | Say):
        return Played()
    if isinstance(effect, Lookup):
        return LookupDone(cust if effect.kind == "customer" else found)
    if isinstance(effect, Route):
        return HoldEnded() if effect.max_wait_s else None
    if isinstance(effect, CreateCallback):
        return CallbackDone(1)
    if isinstance(effect, Record):
        return Recorded("/tmp/x.wav")
    if isinstance(effect, Transfer):
        return TransferDone("BUSY")
    assert isinstance(effect, Hangup | ReturnToDialplan), effect
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs, customer, order, st.integers(0, 24 * 14), st.sampled_from([None, "zh", "en"]))
def test_given_any_key_presses_when_driving_the_aftersales_flow_then_the_call_ends_bounded(
        feed: list[tuple[str, bool]], cust: object, found: object, hours: int, language: str | None) -> None:
    now: datetime = MONDAY_10 + timedelta(hours=hours)
    d = Driver(AFTERSALES, now=now, language=language)
    for _ in range(1000):
        event = answer(d.effect, feed, cust, found)
        if event is None:
            break
        d.send(event)
    else:
        raise AssertionError(f"no end after 1000 steps: {d.kinds()[-10:]}")
    assert isinstance(d.effect, Hangup | Route | ReturnToDialplan)
    assert d.state.inputs <= AFTERSALES.limits.max_inputs + 1


@settings(max_examples=100, deadline=None)
@given(st.lists(digit_strings, min_size=1, max_size=5))
def test_given_sensitive_collect_when_anything_is_keyed_then_no_digit_reaches_context_or_path(
        keyed: list[str]) -> None:
    flow = flow_of({"pin": {"type": "collect", "prompts": ["enter-pin"], "store": "pin", "timeout": 5,
                            "min_length": 4, "max_length": 8, "sensitive": True, "max_retries": 4,
                            "next": "bye", "fallback": "bye"},
                    "bye": {"type": "hangup"}})
    d = Driver(flow)
    for digits in keyed:
        if not isinstance(d.effect, GetDigits):
            break
        d.send(DigitsEntered(digits))
    assert set(str(d.state.context.get("pin", ""))) <= {"*"}
    for entry in d.path():
        if entry["kind"] == "input":
            assert set(str(entry["digits"])) <= {"*", "…"}
