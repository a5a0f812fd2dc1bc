"""Flow files through the models: unknown keys are refused where they stand, a wrong type names
the node and the path inside it, and the error lists what the place accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ivr.loader import parse_flow
from ivr.model import CollectNode, MenuNode

FLOW: dict[str, Any] = {
    "id": "demo", "version": 1, "default_language": "en", "languages": ["en"], "entry": "main",
    "calendars": {"office": {"timezone": "Europe/Paris", "hours": [{"days": "mon-fri", "open": "09:00",
                                                                    "close": "17:00"}]}},
    "nodes": {
        "main": {"type": "menu", "prompts": "main-menu", "choices": {1: "when", 2: "bye"}},
        "when": {"type": "branch", "default": "bye",
                 "rules": [{"if": {"all": [{"calendar": "office", "is": "open"},
                                           {"not": {"field": "customer.tier", "op": "in", "value": ["vip"]}}]},
                            "next": "ask"}]},
        "ask": {"type": "collect", "prompts": ["enter-order"], "store": "order_number", "timeout": 5,
                "validator": {"name": "score", "min": 1, "max": 5}, "next": "bye"},
        "bye": {"type": "hangup"},
    },
}


def problems(**changes: Any) -> list[tuple[str, str, str]]:
    """(node, field, message) of every problem after applying ``path: value`` changes."""
    data = json.loads(json.dumps(FLOW))
    for path, value in changes.items():
        *parents, last = path.split("__")
        place = data
        for key in parents:
            place = place[int(key)] if isinstance(place, list) else place[key]
        place[int(last) if isinstance(place, list) else last] = value
    result = parse_flow(data, "demo.yaml")
    return [(p.node, p.field, p.message) for p in result.problems]


def test_given_the_example_then_nodes_are_typed_models() -> None:
    result = parse_flow(FLOW, "demo.yaml")
    assert result.ok and result.flow is not None
    main, ask = result.flow.nodes["main"], result.flow.nodes["ask"]
    assert isinstance(main, MenuNode) and main.choices == {"1": "when", "2": "bye"}
    assert main.prompts == ("main-menu",) and main.id == "main"
    assert isinstance(ask, CollectNode) and ask.validator is not None and ask.validator.maximum == 5


@pytest.mark.parametrize(("change", "where"), [
    ({"colour": "red"}, ("", "colour")),
    ({"limits": {"max_steps": 50, "max_loops": 3}}, ("", "limits.max_loops")),
    ({"calendars__office__region": "EU"}, ("", "calendars.office.region")),
    ({"calendars__office__hours__0__lunch": "12:00"}, ("", "calendars.office.hours[0].lunch")),
    ({"nodes__bye__promtps": ["goodbye"]}, ("bye", "promtps")),
    ({"nodes__ask__validator__step": 1}, ("ask", "validator.step")),
    ({"nodes__when__rules__0__else": "bye"}, ("when", "rules[0].else")),
    ({"nodes__when__rules__0__if__all__0__tz": "UTC"}, ("when", "rules[0].if.all[0].tz")),
    ({"nodes__when__rules__0__if__all__1__not__case": "lower"}, ("when", "rules[0].if.all[1].not.case")),
])
def test_given_unknown_key_then_refused_with_its_location(change: dict[str, Any], where: tuple[str, str]) -> None:
    found = problems(**change)
    assert [(node, field) for node, field, _ in found] == [where]
    assert found[0][2].startswith("unknown field (known: ")


def test_given_unknown_node_field_then_the_node_types_fields_are_listed() -> None:
    (_, _, message), = problems(nodes__bye__promtps=["goodbye"])
    assert message == "unknown field (known: description, prompts)"


@pytest.mark.parametrize(("change", "where", "message"), [
    ({"version": "two"}, ("", "version"), "must be an integer, got 'two'"),
    ({"languages": "en"}, ("", "languages"), "must be a list"),
    ({"calendars__office__hours__0__open": "nine"}, ("", "calendars.office.hours[0].open"),
     "'nine' is not a time such as '08:00'"),
    ({"nodes__main__choices": {1: "when", 2: 7}}, ("main", "choices.2"), "must be a non-empty string, got 7"),
    ({"nodes__main__timeout": "5"}, ("main", "timeout"), "must be a number, got '5'"),
    ({"nodes__main__max_retries": 12}, ("main", "max_retries"), "must be between 0 and 9, got 12"),
    ({"nodes__ask__sensitive": "yes"}, ("ask", "sensitive"), "must be true or false, got 'yes'"),
    ({"nodes__ask__validator__min": "1"}, ("ask", "validator.min"), "must be an integer, got '1'"),
    ({"nodes__when__rules__0__if__all__0__is": "shut"}, ("when", "rules[0].if.all[0].is"),
     "must be one of open, closed, holiday, got 'shut'"),
    ({"nodes__when__rules__0__if__all__1__not__value": "vip"}, ("when", "rules[0].if.all[1].not.value"),
     "'in' takes a non-empty list of values"),
    ({"nodes__when__rules__0__if__all__1": {"weather": "fine"}}, ("when", "rules[0].if.all[1]"),
     "a condition is {field, op, value}"),
])
def test_given_wrong_type_then_the_field_path_is_named(change: dict[str, Any], where: tuple[str, str],
                                                      message: str) -> None:
    found = problems(**change)
    assert [(node, field) for node, field, _ in found] == [where]
    assert found[0][2].startswith(message)


def test_given_a_bad_node_then_the_other_nodes_still_load() -> None:
    data = json.loads(json.dumps(FLOW))
    data["nodes"]["ask"]["timeout"] = 0
    result = parse_flow(data, "demo.yaml")
    assert result.broken == {"ask"} and result.flow is not None
    assert set(result.flow.nodes) == {"main", "when", "bye"}


def test_given_a_node_with_its_own_id_then_refused() -> None:
    assert problems(nodes__bye__id="bye") == [("bye", "id", "unknown field: a node's id is its key under nodes")]
