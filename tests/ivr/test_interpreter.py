"""The pure interpreter, node type by node type: effects out, events in, no mocks, fake clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from ivr import interpreter
from ivr.effects import (
    CallbackDone,
    CreateCallback,
    DigitsEntered,
    Failed,
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
    RouteRequirements,
    Say,
    Transfer,
    TransferDone,
)
from ivr.steps import ReturnToDialplan
from tests.ivr.helpers import MONDAY_10, SHANGHAI, UTC, Driver, config, flow_of

BYE = {"type": "hangup", "prompts": ["goodbye"]}


def menu(**extra: object) -> dict[str, object]:
    return {"type": "menu", "prompts": ["main-menu"], "choices": {1: "one", 2: "two"}, "timeout": 5,
            "invalid_prompts": ["pm-invalid-option"], "no_input_prompts": ["no-input"], **extra}


def menu_flow(**extra: object) -> Driver:
    return Driver(flow_of({"main": menu(**extra), "one": BYE, "two": {"type": "hangup"},
                           "oops": {"type": "hangup", "prompts": ["sorry"]}}))


# --- play and hangup -------------------------------------------------------------------------

def test_given_play_node_when_prompts_played_then_next_node_and_goodbye_then_hangup() -> None:
    d = Driver(flow_of({"hello": {"type": "play", "prompts": ["welcome", "hello-world"], "next": "bye"},
                        "bye": BYE}))
    assert d.effect == PlayPrompts(("welcome", "hello-world"))
    assert d.send(Played()) == PlayPrompts(("goodbye",))
    assert d.send(Played()) == Hangup()
    assert d.state.finished
    assert d.kinds()[:3] == [("hello", "start"), ("hello", "node"), ("hello", "prompts")]
    assert d.path()[2]["prompts"] == ["welcome", "hello-world"]
    assert ("bye", "hangup") in d.kinds()


def test_given_chinese_caller_when_prompt_has_zh_recording_then_zh_name_else_neutral() -> None:
    d = Driver(flow_of({"hello": {"type": "play", "prompts": ["welcome", "hello-world"], "next": "bye"},
                        "bye": BYE}), language="zh")
    assert d.effect == PlayPrompts(("zh/welcome", "hello-world"))
    assert d.send(Played()) == PlayPrompts(("zh/goodbye",))


# --- menu ------------------------------------------------------------------------------------

def test_given_menu_when_caller_presses_a_choice_then_its_node() -> None:
    d = menu_flow()
    assert d.effect == GetDigits(("main-menu",), 1, 5.0, interrupt="12")
    assert d.send(DigitsEntered("1")) == PlayPrompts(("goodbye",))
    entry = next(e for e in d.path() if e["kind"] == "input")
    assert entry == {**entry, "node": "main", "digits": "1", "outcome": "choice", "next": "one"}


def test_given_menu_when_wrong_key_then_invalid_prompt_first_and_when_silent_then_no_input_prompt() -> None:
    d = menu_flow()
    assert d.send(DigitsEntered("7")) == GetDigits(("pm-invalid-option", "main-menu"), 1, 5.0, interrupt="12")
    assert d.send(DigitsEntered("", timed_out=True)) == GetDigits(("no-input", "main-menu"), 1, 5.0,
                                                                   interrupt="12")
    assert d.state.attempts == 2


def test_given_menu_with_fallback_when_retries_exhausted_then_fallback_node() -> None:
    d = menu_flow(max_retries=1, fallback="oops")
    d.send(DigitsEntered("9"))
    assert d.send(DigitsEntered("9")) == PlayPrompts(("sorry",))
    assert ("main", "retries_exhausted") in d.kinds()


def test_given_menu_without_fallback_when_retries_exhausted_then_flow_fallback() -> None:
    d = Driver(flow_of({"main": menu(max_retries=0), "one": BYE, "two": BYE,
                        "agent": {"type": "route", "skill": "general"}}, fallback="agent"))
    effect = d.send(DigitsEntered("", timed_out=True))
    assert isinstance(effect, Route) and effect.requirements.skill == "general" and not effect.fallback
    assert d.state.in_fallback


def test_given_no_fallback_anywhere_when_retries_exhausted_then_safe_route_to_general() -> None:
    d = Driver(flow_of({"main": menu(max_retries=0), "one": BYE, "two": BYE}))
    effect = d.send(DigitsEntered("5"))
    assert effect == Route(RouteRequirements("general", language="en"), effect.context, fallback=True)


def test_given_star_choice_when_pressed_then_it_is_a_choice_and_can_cut_prompts() -> None:
    d = Driver(flow_of({"main": {"type": "menu", "prompts": ["a", "b"], "choices": {"*": "one", 0: "one"}},
                        "one": BYE}))
    assert d.effect.interrupt == "*0"
    assert d.send(DigitsEntered("*")) == PlayPrompts(("goodbye",))


# --- collect ---------------------------------------------------------------------------------

def collect_flow(**extra: object) -> Driver:
    node = {"type": "collect", "prompts": ["enter-order-number"], "store": "order_number", "timeout": 8,
            "min_length": 8, "max_length": 8, "validator": {"name": "order_number", "pattern": "[0-9]{8}"},
            "invalid_prompts": ["order-number-invalid"], "next": "done", **extra}
    return Driver(flow_of({"ask": node, "done": {"type": "hangup"}}))


def test_given_collect_when_valid_order_number_then_stored_in_context() -> None:
    d = collect_flow()
    assert d.effect == GetDigits(("enter-order-number",), 8, 8.0, interrupt="", sensitive=False)
    assert d.send(DigitsEntered("10000011")) == Hangup()
    assert d.state.context["order_number"] == "10000011"


def test_given_collect_when_too_short_or_pattern_fails_then_retry_with_invalid_prompt() -> None:
    d = collect_flow()
    retry = GetDigits(("order-number-invalid", "enter-order-number"), 8, 8.0)
    assert d.send(DigitsEntered("123")) == retry
    assert d.send(DigitsEntered("1234567*")) == retry
    assert "order_number" not in d.state.context


def test_given_collect_when_caller_pauses_after_enough_digits_then_timed_out_input_is_accepted() -> None:
    d = collect_flow()
    d.send(DigitsEntered("10000011", timed_out=True))
    assert d.state.context["order_number"] == "10000011"


def test_given_star_terminator_when_digits_then_cut_at_star() -> None:
    d = collect_flow(terminator="*", min_length=3, validator="digits")
    d.send(DigitsEntered("123*999"))
    assert d.state.context["order_number"] == "123"


@pytest.mark.parametrize(("validator", "digits", "stored"), [
    ("date", "20261123", "2026-11-23"),
    ("date", "20260230", None),
    ("phone", "13800000001", "13800000001"),
    ("phone", "1234", None),
    ({"name": "score", "min": 1, "max": 5}, "5", "5"),
    ({"name": "score", "min": 1, "max": 5}, "6", None),
    ("digits", "0042", "0042"),
])
def test_given_validator_when_digits_then_stored_normalised_or_refused(validator: object, digits: str,
                                                                       stored: str | None) -> None:
    d = collect_flow(validator=validator, min_length=1, max_length=12)
    d.send(DigitsEntered(digits))
    assert d.state.context.get("order_number") == stored


def test_given_sensitive_collect_when_entered_then_masked_in_context_path_and_effects() -> None:
    d = Driver(flow_of({
        "pin": {"type": "collect", "prompts": ["enter-pin"], "store": "pin", "timeout": 5,
                "min_length": 4, "max_length": 6, "sensitive": True, "next": "find"},
        "find": {"type": "lookup", "by": "order", "key": "pin", "found": "read", "not_found": "read"},
        "read": {"type": "say", "value": "pin", "as": "digits", "next": "bye"},
        "bye": {"type": "hangup"}}))
    assert d.effect.sensitive
    effect = d.send(DigitsEntered("4321"))
    assert effect == Lookup("order", "4321", sensitive=True)  # the provider needs the real value
    assert d.state.context["pin"] == "****"
    assert d.state.secrets["pin"] == "4321"
    say = d.send(LookupDone(None))
    assert isinstance(say, Say) and say.shown == "****"
    assert say.prompts == ("digits/4", "digits/3", "digits/2", "digits/1")  # the caller hears it
    d.send(Played())
    text = repr(d.path())
    assert "4321" not in text and "****" in text


# --- lookup ----------------------------------------------------------------------------------

def lookup_flow(**extra: object) -> Driver:
    return Driver(flow_of({
        "who": {"type": "lookup", "by": "caller", "found": "hi", "not_found": "anon", **extra},
        "hi": {"type": "hangup", "prompts": ["welcome"]}, "anon": {"type": "hangup"},
        "oops": {"type": "hangup", "prompts": ["sorry"]}}), caller="+86 138-0000-0001")


def test_given_caller_lookup_when_customer_found_then_context_and_profile_language() -> None:
    d = lookup_flow(apply_language=True)
    assert d.effect == Lookup("customer", "+8613800000001")
    effect = d.send(LookupDone({"customer.id": 7, "customer.tier": "vip", "customer.language": "zh"}))
    assert effect == PlayPrompts(("zh/welcome",))
    assert d.state.language == "zh"
    assert d.state.context["customer.tier"] == "vip"
    assert d.state.context["language_source"] == "profile"
    lookup = next(e for e in d.path() if e["kind"] == "lookup")
    assert (lookup["lookup"], lookup["key"]) == ("customer", "+8613800000001")


def test_given_caller_lookup_when_not_found_or_failed_then_not_found_or_failed_node() -> None:
    assert lookup_flow().send(LookupDone(None)) == Hangup()
    assert lookup_flow(failed="oops").send(LookupDone(None, failed=True)) == PlayPrompts(("sorry",))


def test_given_anonymous_caller_when_caller_lookup_then_not_found_without_asking_anyone() -> None:
    flow = flow_of({"who": {"type": "lookup", "by": "caller", "found": "hi", "not_found": "anon"},
                    "hi": BYE, "anon": {"type": "hangup"}})
    assert Driver(flow, caller="anonymous").effect == Hangup()


# --- say -------------------------------------------------------------------------------------

STATUS = {"type": "say", "prompts": ["order-status-is"], "value": "shipment.status", "as": "status",
          "mapping": {"in_transit": "status-in-transit"}, "default": "status-unknown", "next": "bye"}


def say_driver(node: dict[str, object], values: dict[str, object], language: str = "en") -> Driver:
    d = Driver(flow_of({"find": {"type": "lookup", "by": "caller", "found": "say", "not_found": "say"},
                        "say": node, "bye": {"type": "hangup"}}), language=language)
    d.send(LookupDone(values))
    return d


def test_given_shipment_status_when_mapped_then_status_prompt_in_callers_language() -> None:
    d = say_driver(STATUS, {"shipment.status": "in_transit"}, language="zh")
    assert d.effect == Say(("zh/order-status-is", "zh/status-in-transit"), "status", "in_transit")


def test_given_unmapped_or_missing_status_then_default_prompt() -> None:
    assert say_driver(STATUS, {"shipment.status": "teleported"}).effect.prompts == \
        ("order-status-is", "status-unknown")
    assert say_driver(STATUS, {}).effect.prompts == ("order-status-is", "status-unknown")


def test_given_number_date_and_digits_read_back_in_english_and_chinese() -> None:
    number = {"type": "say", "value": "n", "as": "number", "next": "bye"}
    assert say_driver(number, {"n": 1234}).effect.prompts == (
        "digits/1", "digits/thousand", "digits/2", "digits/hundred", "digits/30", "digits/4")
    assert say_driver(number, {"n": 105}, "zh").effect.prompts == ("zh/digits/1", "zh/digits/hundred",
                                                                   "zh/digits/0", "zh/digits/5")
    day = {"type": "say", "value": "d", "as": "date", "next": "bye"}
    assert say_driver(day, {"d": "2026-11-23"}).effect.prompts == ("digits/mon-10", "digits/20", "digits/h-3")
    assert say_driver(day, {"d": "2026-11-23"}, "zh").effect.prompts == (
        "zh/digits/10", "zh/digits/1", "zh/digits/month-suffix", "zh/digits/2", "zh/digits/10",
        "zh/digits/3", "zh/digits/day-suffix")
    digits = {"type": "say", "value": "t", "as": "digits", "next": "bye"}
    assert say_driver(digits, {"t": "SF12"}).effect.prompts == ("digits/1", "digits/2")


def test_given_no_value_and_no_default_when_say_then_skipped_silently() -> None:
    node = {"type": "say", "prompts": ["status-updated-on"], "value": "shipment.status_at", "as": "date",
            "next": "bye"}
    assert say_driver(node, {}).effect == Hangup()


# --- branch and set --------------------------------------------------------------------------

HOURS = {"aftersales": {"timezone": "Asia/Shanghai",
                        "hours": [{"days": "mon-sat", "open": "08:00", "close": "20:00"}],
                        "holidays": ["2026-10-01..2026-10-07"]}}


def branch_driver(rules: list[dict[str, object]], now: datetime = MONDAY_10,
                  values: dict[str, object] | None = None) -> str:
    flow = flow_of({"find": {"type": "lookup", "by": "caller", "found": "check", "not_found": "check"},
                    "check": {"type": "branch", "rules": rules, "default": "no"},
                    "yes": {"type": "hangup", "prompts": ["yes"]}, "no": {"type": "hangup", "prompts": ["no"]}},
                   calendars=HOURS)
    d = Driver(flow, now=now)
    effect = d.send(LookupDone(values or {}))
    assert isinstance(effect, PlayPrompts)
    return effect.prompts[0]


@pytest.mark.parametrize(("now", "state"), [
    (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), "open"),        # Mon 08:00 Shanghai
    (datetime(2026, 11, 22, 23, 59, tzinfo=UTC), "closed"),    # Mon 07:59 Shanghai
    (datetime(2026, 11, 28, 11, 59, tzinfo=UTC), "open"),      # Sat 19:59
    (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), "closed"),     # Sat 20:00
    (datetime(2026, 11, 29, 10, 0, tzinfo=SHANGHAI), "closed"),  # Sunday
    (datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI), "holiday"),  # National Day, a Thursday
    (datetime(2026, 9, 30, 17, 30, tzinfo=UTC), "holiday"),    # 1 Oct 01:30 in Shanghai, still 30 Sep in UTC
])
def test_given_business_hours_in_shanghai_when_clock_at_instant_then_open_closed_or_holiday(
        now: datetime, state: str) -> None:
    assert branch_driver([{"if": {"calendar": "aftersales", "is": state}, "next": "yes"}], now) == "yes"
    if state == "holiday":
        assert branch_driver([{"if": {"calendar": "aftersales", "is": "closed"}, "next": "yes"}], now) == "yes"


@pytest.mark.parametrize(("condition", "values", "expected"), [
    ({"field": "customer.tier", "op": "eq", "value": "vip"}, {"customer.tier": "vip"}, "yes"),
    ({"field": "customer.tier", "op": "eq", "value": "vip"}, {"customer.tier": "standard"}, "no"),
    ({"field": "customer.tier", "op": "ne", "value": "vip"}, {}, "yes"),
    ({"field": "order.status", "op": "in", "value": ["paid", "shipped"]}, {"order.status": "shipped"}, "yes"),
    ({"field": "shipment.status", "op": "exists"}, {"shipment.status": "lost"}, "yes"),
    ({"field": "shipment.status", "op": "exists", "value": False}, {}, "yes"),
    ({"field": "order.total_cents", "op": "gt", "value": 100000}, {"order.total_cents": 199900}, "yes"),
    ({"field": "order.total_cents", "op": "lt", "value": "100000"}, {"order.total_cents": 199900}, "no"),
    ({"field": "order.placed_at", "op": "lt", "value": "2026-11-01"}, {"order.placed_at": "2026-10-15"}, "yes"),
    ({"field": "language", "op": "eq", "value": "en"}, {}, "yes"),
    ({"all": [{"field": "customer.tier", "value": "vip"}, {"calendar": "aftersales", "is": "open"}]},
     {"customer.tier": "vip"}, "yes"),
    ({"any": [{"field": "x", "op": "exists"}, {"not": {"field": "customer.tier", "value": "vip"}}]},
     {"customer.tier": "vip"}, "no"),
])
def test_given_branch_rule_on_context_when_evaluated_then_expected_node(
        condition: dict[str, object], values: dict[str, object], expected: str) -> None:
    assert branch_driver([{"if": condition, "next": "yes"}], values=values) == expected


def test_given_set_nodes_when_routed_then_requirements_carry_skill_priority_language_tags() -> None:
    d = Driver(flow_of({
        "vip": {"type": "set", "skill": "vip", "priority": 9, "tags": ["vip"], "language": "zh", "next": "more"},
        "more": {"type": "set", "tags": ["damaged", "vip"], "values": {"case.kind": "damaged"}, "next": "go"},
        "go": {"type": "route", "min_level": 3}}))
    effect = d.effect
    assert isinstance(effect, Route)
    assert effect.requirements == RouteRequirements("vip", 3, "zh", 9, ("vip", "damaged"))
    assert effect.context["case.kind"] == "damaged" and effect.context["route.skill"] == "vip"


# --- route -----------------------------------------------------------------------------------

def test_given_route_with_max_wait_when_hold_ends_then_overflow_node() -> None:
    d = Driver(flow_of({"go": {"type": "route", "skill": "orders", "prompts": ["connecting-agent"],
                               "max_wait": 60, "overflow": "offer"},
                        "offer": {"type": "hangup", "prompts": ["long-wait-callback"]}}))
    assert d.effect == PlayPrompts(("connecting-agent",))
    route = d.send(Played())
    assert isinstance(route, Route) and route.max_wait_s == 60 and route.hold == "default"
    assert d.send(HoldEnded()) == PlayPrompts(("long-wait-callback",))


def test_given_route_prompt_then_route_after_is_the_route_it_leads_to_and_none_for_other_prompts() -> None:
    d = Driver(flow_of({"go": {"type": "route", "skill": "orders", "prompts": ["connecting-agent"],
                               "max_wait": 60}}))
    ahead = interpreter.route_after(d.step, d.now)
    assert ahead == d.send(Played())  # what the prompt's end leads to, decided before it ends
    assert interpreter.route_after(d.step, d.now) is None  # the route itself: nothing to queue
    menu = menu_flow()
    assert interpreter.route_after(menu.step, menu.now) is None
    bye = Driver(flow_of({"bye": {"type": "hangup", "prompts": ["sorry"]}}))
    assert interpreter.route_after(bye.step, bye.now) is None


# --- callback and voicemail ------------------------------------------------------------------

def callback_driver(caller: str = "13800000001", **extra: object) -> Driver:
    return Driver(flow_of({
        "cb": {"type": "callback", "prompts": ["callback-enter-number"], "timeout": 8,
               "invalid_prompts": ["callback-number-invalid"], "next": "ok", "failed": "vm", **extra},
        "ok": {"type": "hangup", "prompts": ["callback-confirmed"]},
        "vm": {"type": "voicemail", "prompts": ["leave-message"], "next": "saved"},
        "saved": {"type": "hangup", "prompts": ["message-saved"]},
        "bye": BYE}), caller=caller)


def test_given_callback_when_caller_presses_hash_then_ticket_for_caller_id() -> None:
    d = callback_driver()
    assert d.effect == GetDigits(("callback-enter-number",), 20, 8.0)
    effect = d.send(DigitsEntered(""))
    assert isinstance(effect, CreateCallback) and effect.number == "13800000001"
    assert d.send(CallbackDone(42)) == PlayPrompts(("callback-confirmed",))
    assert d.state.context["callback.ticket_id"] == 42


def test_given_callback_when_caller_keys_another_number_then_ticket_for_it() -> None:
    d = callback_driver()
    effect = d.send(DigitsEntered("02155550123"))
    assert isinstance(effect, CreateCallback) and effect.number == "02155550123"


def test_given_anonymous_caller_when_no_number_keyed_then_retry_then_fallback() -> None:
    d = callback_driver(caller="", max_retries=1, fallback="bye")
    assert d.send(DigitsEntered("", timed_out=True)) == GetDigits(("callback-enter-number",), 20, 8.0)
    assert d.send(DigitsEntered("12")) == PlayPrompts(("goodbye",))


def test_given_invalid_numbers_until_retries_run_out_then_caller_id_is_used() -> None:
    d = callback_driver(max_retries=1)
    d.send(DigitsEntered("12"))
    effect = d.send(DigitsEntered("99"))
    assert isinstance(effect, CreateCallback) and effect.number == "13800000001"


def test_given_ticket_creation_fails_then_failed_node_records_voicemail_with_ticket() -> None:
    d = callback_driver()
    d.send(DigitsEntered(""))
    assert d.send(CallbackDone(None)) == PlayPrompts(("leave-message",))
    assert d.send(Played()) == Record("vm", 120, 5, True)
    effect = d.send(Recorded("/var/spool/asterisk/ivr-messages/x-vm-1.wav"))
    assert isinstance(effect, CreateCallback) and effect.voicemail.endswith("x-vm-1.wav")
    assert d.send(CallbackDone(43)) == PlayPrompts(("message-saved",))
    assert d.state.context["voicemail.file"].endswith("x-vm-1.wav")


# --- transfer --------------------------------------------------------------------------------

def test_given_dial_transfer_when_answered_then_hangup_and_when_busy_then_failed_node() -> None:
    flow = flow_of({"xfer": {"type": "transfer", "dial": "PJSIP/2000", "timeout": 20, "failed": "bye"},
                    "bye": BYE})
    d = Driver(flow)
    assert d.effect == Transfer(dial="PJSIP/2000", timeout_s=20)
    assert d.send(TransferDone("ANSWER")) == Hangup("transfer ended")
    d = Driver(flow)
    assert d.send(TransferDone("BUSY")) == PlayPrompts(("goodbye",))


def test_given_extension_transfer_then_redirect_effect() -> None:
    d = Driver(flow_of({"xfer": {"type": "transfer", "context": "hunt", "exten": "2000"}}))
    assert d.effect == Transfer(context="hunt", exten="2000", priority=1, timeout_s=30)


# --- errors and hostile input ----------------------------------------------------------------

def test_given_agi_error_when_failed_then_flow_fallback_once_then_safe_route_then_dialplan() -> None:
    d = Driver(flow_of({"hello": {"type": "play", "prompts": ["welcome"], "next": "hello"},
                        "agent": {"type": "route", "skill": "general", "prompts": ["connecting-agent"]}},
                       fallback="agent"))
    assert d.send(Failed("AGI 510")) == PlayPrompts(("connecting-agent",))
    effect = d.send(Failed("AGI 510 again"))
    assert isinstance(effect, Route) and effect.fallback and effect.requirements.skill == "general"
    assert d.send(Failed("router down")) == ReturnToDialplan("router down")
    assert [k for _, k in d.kinds()].count("fallback") == 2


def test_given_loop_without_input_when_run_then_bounded_and_routed() -> None:
    flow = flow_of({"a": {"type": "branch", "rules": [], "default": "b"},
                    "b": {"type": "set", "next": "a"}})
    d = Driver(flow, cfg=config(fallback_skill="general"))
    assert isinstance(d.effect, Route) and d.effect.fallback
    assert len(d.path()) < 250


def test_given_menu_that_loops_on_itself_when_caller_floods_inputs_then_fallback_after_max_inputs() -> None:
    d = Driver(flow_of({"main": {"type": "menu", "prompts": ["m"], "choices": {1: "main"}}},
                       limits={"max_inputs": 10, "max_steps": 100}))
    for _ in range(10):
        assert isinstance(d.send(DigitsEntered("1")), GetDigits)
    effect = d.send(DigitsEntered("1"))
    assert isinstance(effect, Route) and effect.fallback


def test_given_absurd_digit_string_when_collected_then_refused_and_shown_cut() -> None:
    d = collect_flow(max_retries=0)
    effect = d.send(DigitsEntered("9" * 100_000))
    assert isinstance(effect, Route)
    shown = next(e for e in d.path() if e["kind"] == "input")["digits"]
    assert len(shown) <= 33


def test_when_event_arrives_after_hangup_then_nothing_happens() -> None:
    d = Driver(flow_of({"bye": {"type": "hangup"}}))
    assert d.effect == Hangup()
    assert d.send(Played()) == Hangup("finished")


def test_given_unexpected_event_for_node_then_fallback_not_exception() -> None:
    d = menu_flow()
    effect = d.send(TransferDone("ANSWER"))
    assert isinstance(effect, Route) and effect.fallback


def test_path_entries_never_lose_their_own_keys() -> None:
    from ivr.effects import PathEntry

    entry = PathEntry(MONDAY_10, "n", "input", {"kind": "x", "node": "y", "digits": "1"})
    assert entry.to_json() == {"at": "2026-11-23T10:00:00.000+08:00", "node": "n", "kind": "input",
                               "kind_": "x", "node_": "y", "digits": "1"}


def test_start_time_is_recorded_from_the_injected_clock() -> None:
    d = menu_flow()
    assert d.path()[0]["at"] == MONDAY_10.isoformat(timespec="milliseconds")
