"""The one renderer of config-file errors: paths read like the file, messages in plain words."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import Discriminator, Field, Tag, ValidationError, model_validator

from callcenter.schema.base import Schema, fail, located
from callcenter.schema.fields import Flag, Integer, Number, between


class Leaf(Schema):
    kind: Literal["leaf"] = "leaf"
    size: Annotated[Integer, between(1, 5)] = 1
    wait: Annotated[Number, Field(json_schema_extra={"missing": "how long to wait, in seconds"})]


class Pair(Schema):
    first: Annotated[int, Field(alias="1st")]
    on: Flag = False


Either = Annotated[Annotated[Leaf, Tag("leaf")] | Annotated[Pair, Tag("pair")],
                   Discriminator(lambda v: "leaf" if isinstance(v, dict) and "wait" in v else "pair")]


class Root(Schema):
    items: Annotated[tuple[Leaf, ...], Field(min_length=1)]
    named: dict[str, Either] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Root:
        if len(self.items) > 1 and self.items[1].size < self.items[0].size:
            fail("must not be smaller than the item before", "items[1].size")
        return self


def errors_of(data: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        Root.model_validate(data)
    return [str(p) for p in located(caught.value, Root)]


def test_given_unknown_key_then_path_and_known_keys_named() -> None:
    assert errors_of({"items": [{"wait": 1, "colour": "red"}]}) == [
        "items[0].colour: unknown field (known: kind, size, wait)"]


def test_given_union_member_then_its_tag_is_not_part_of_the_path() -> None:
    assert errors_of({"items": [{"wait": 1}], "named": {"a": {"1st": 1, "on": "yes"}}}) == [
        "named.a.on: must be true or false, got 'yes'"]
    assert errors_of({"items": [{"wait": 1}], "named": {"b": {"wait": 1, "size": 7}}}) == [
        "named.b.size: must be between 1 and 5, got 7"]


@pytest.mark.parametrize(("data", "expected"), [
    ({"items": [{"wait": "soon"}]}, "items[0].wait: must be a number, got 'soon'"),
    ({"items": [{"wait": True}]}, "items[0].wait: must be a number, got True"),
    ({"items": [{"wait": 1, "size": 2.5}]}, "items[0].size: must be an integer, got 2.5"),
    ({"items": [{}]}, "items[0].wait: missing: how long to wait, in seconds"),
    ({"items": []}, "items: must not be empty"),
    ({"items": "x"}, "items: must be a list, got 'x'"),
    ({"items": [3]}, "items[0]: must be a mapping, got 3"),
    ({"items": [{"wait": 1, "kind": "tree"}]}, "items[0].kind: must be one of 'leaf', got 'tree'"),
    ({"items": [{"wait": 1, "size": 3}, {"wait": 1, "size": 2}]},
     "items[1].size: must not be smaller than the item before"),
])
def test_given_wrong_value_then_field_path_and_plain_message(data: Any, expected: str) -> None:
    assert errors_of(data) == [expected]


def test_given_bad_item_in_a_required_list_then_not_also_told_the_list_is_empty() -> None:
    assert errors_of({"items": [{"wait": "x"}]}) == ["items[0].wait: must be a number, got 'x'"]
