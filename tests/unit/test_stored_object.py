"""A stored JSON object read back: text or a mapping gives a dict; anything else (damaged text,
a list, a number, nothing) gives an empty one, never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.store.rows import stored_object


@pytest.mark.parametrize(("value", "expected"), [
    ('{"route.skill": "refunds"}', {"route.skill": "refunds"}),
    ({"segments": {}}, {"segments": {}}),
    ("{not json", {}),
    ("[1, 2]", {}),
    ("7", {}),
    (None, {}),
    ([("a", 1)], {}),
])
def test_a_stored_object_is_a_dict_or_empty(value: Any, expected: dict[str, Any]) -> None:
    assert stored_object(value) == expected


def test_the_dict_is_a_copy() -> None:
    original = {"a": 1}
    stored_object(original)["a"] = 2
    assert original == {"a": 1}
