"""The checked field types of flow files: node ids, context keys, prompt names, languages, dial
strings and the scalar values conditions and ``set`` nodes hold. Each refuses a bad value with a
message that says what the field should look like."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator
from pydantic_core import PydanticCustomError

from callcenter.schema.base import fail
from callcenter.schema.fields import Integer, Number, between

Scalar = str | int | float | bool | None

SLUG = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
CONTEXT_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
PROMPT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
# Dial strings and dialplan names go into AGI/AMI commands: no blanks, quotes or separators.
DIAL_STRING = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9_@./&:+-]+$")
DIALPLAN_NAME = re.compile(r"^[A-Za-z0-9_+.-]+$")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(f"must be a non-empty string, got {value!r}")
    return value.strip()


def _node_ref(value: Any) -> str:
    text = _text(value)
    if not SLUG.match(text):
        fail(f"{text!r} is not a valid node id (letters, digits, _ and -)")
    return text


def _context_key(value: Any) -> str:
    text = _text(value)
    if not CONTEXT_KEY.match(text):
        fail(f"{text!r} is not a context key (lower-case words joined by dots)")
    return text


def _prompt(value: Any) -> str:
    if not isinstance(value, str) or not PROMPT_NAME.match(value) or ".." in value.split("/"):
        fail(f"{value!r} is not a prompt name (a sound name such as 'welcome' or 'digits/1', "
             "without extension)")
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _language(value: Any) -> str:
    text = _text(value)
    if not LANGUAGE.match(text):
        fail(f"{text!r} is not a language code such as en or zh")
    return text


def _dial(value: Any) -> str:
    text = _text(value)
    if not DIAL_STRING.match(text):
        fail(f"{text!r} is not a dial string such as PJSIP/2000 (no blanks or commas)")
    return text


def _dialplan_name(value: Any) -> str:
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not DIALPLAN_NAME.match(text):
        fail(f"{value!r} is not a dialplan context or extension name")
    return text


def _terminator(value: Any) -> str:
    if value is None or value == "":
        return ""
    if value not in ("#", "*"):
        fail(f"must be '#', '*' or empty, got {value!r}")
    return str(value)


def scalar(value: Any) -> Scalar:
    """A context value: a string, number, boolean or null (a YAML date becomes ``YYYY-MM-DD``)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, date):
        return value.isoformat()
    fail(f"must be a string, number, boolean or null, got {value!r}")


def _values(value: Any) -> dict[str, Scalar]:
    if not isinstance(value, dict):
        fail("must map context keys to values")
    out: dict[str, Scalar] = {}
    for key, item in value.items():
        out[_at(key, _context_key, key)] = _at(key, scalar, item)
    return out


def _at(key: object, check: Any, value: Any) -> Any:
    """``check(value)``, its refusal located at ``.key`` (checks made on a whole mapping)."""
    try:
        return check(value)
    except PydanticCustomError as exc:
        fail(exc.message(), f".{key}")


def _keys_as_text(value: Any) -> Any:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


def one_of(*allowed: str) -> PlainValidator:
    def check(value: Any) -> str:
        if value not in allowed:
            fail(f"must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)
    return PlainValidator(check)


Text = Annotated[str, PlainValidator(_text)]
NodeRef = Annotated[str, PlainValidator(_node_ref)]
ContextKey = Annotated[str, PlainValidator(_context_key)]
Prompt = Annotated[str, PlainValidator(_prompt)]
Prompts = Annotated[tuple[Prompt, ...], BeforeValidator(_one_or_many)]
Language = Annotated[str, PlainValidator(_language)]
Tags = Annotated[tuple[ContextKey, ...], BeforeValidator(_one_or_many)]
Dial = Annotated[str, PlainValidator(_dial)]
DialplanName = Annotated[str, PlainValidator(_dialplan_name)]
Terminator = Annotated[str, PlainValidator(_terminator)]
Choices = Annotated[dict[str, NodeRef], BeforeValidator(_keys_as_text), Field(min_length=1)]
PromptMap = Annotated[dict[str, Prompt], BeforeValidator(_keys_as_text)]
VALUES = BeforeValidator(_values)
Seconds = Annotated[Number, between(1, 60)]
Retries = Annotated[Integer, between(0, 9)]
Priority = Annotated[Integer, between(0, 9)]

