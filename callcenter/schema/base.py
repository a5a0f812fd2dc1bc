"""The base of every config-file model, and the one place that words validation errors.

Each file kind (IVR flows, the routing policy, agents and skills, QA scorecards, simulator
scenarios) is a tree of :class:`Schema` models: unknown keys are refused and values are frozen
once read. :func:`located` turns a :class:`pydantic.ValidationError` into :class:`Located`
problems: the path reads like the file (``skills.refunds.steps[1].after_s``, union tags left
out) and the message says what is wrong in plain words (``must be an integer, got 'two'``).
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NoReturn, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Tag, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

CUSTOM = "schema"  # the error type of :func:`fail`; its message is used as it is
_SEQUENCES = (list, tuple, set, frozenset, Sequence)
_MAPPINGS = (dict, Mapping)
_MESSAGES = {
    "missing": "missing",
    "model_type": "must be a mapping, got {input!r}",
    "model_attributes_type": "must be a mapping, got {input!r}",
    "dict_type": "must be a mapping, got {input!r}",
    "list_type": "must be a list, got {input!r}",
    "tuple_type": "must be a list, got {input!r}",
    "too_short": "must not be empty",
    "string_type": "must be a string, got {input!r}",
    "int_type": "must be an integer, got {input!r}",
    "int_parsing": "must be an integer, got {input!r}",
    "int_from_float": "must be an integer, got {input!r}",
    "float_type": "must be a number, got {input!r}",
    "float_parsing": "must be a number, got {input!r}",
    "bool_type": "must be true or false, got {input!r}",
    "bool_parsing": "must be true or false, got {input!r}",
    "literal_error": "must be one of {expected}, got {input!r}",
    "union_tag_not_found": "missing {discriminator}",
    "union_tag_invalid": "unknown {discriminator} {tag!r} (known: {expected_tags})",
}


class Schema(BaseModel):
    """A mapping in a config file: unknown keys are refused, the values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Located:
    """One problem: ``path`` inside the file (empty for the whole document) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def fail(message: str, at: str = "") -> NoReturn:
    """Refuse a value with ``message``.

    Args:
        at: a path below the validated value (``[1].after_s``), for checks made on a whole list
            or mapping that blame one of its parts.
    """
    raise PydanticCustomError(CUSTOM, "{message}", {"message": message, "at": at})


def located(exc: ValidationError, root: Any) -> list[Located]:
    """Every error of ``exc`` with its path and message; ``root`` is the type validated."""
    errors = exc.errors()
    inner = [e["loc"] for e in errors if e["type"] != "too_short"]  # a list too short for its bad items
    return [_locate(error, root) for error in errors if error["type"] != "too_short"
            or not any(loc[:len(error["loc"])] == error["loc"] for loc in inner)]


def summary(exc: ValidationError, root: Any, whole: str = "") -> str:
    """Every error of ``exc`` on one line (``a.b: …; c[0]: …``); ``whole`` names the document
    itself for errors about all of it (``scenario: must be a mapping``)."""
    return "; ".join(str(Located(p.path or whole, p.message)) for p in located(exc, root))


def join_path(*parts: str) -> str:
    """``join_path("agents[0]", "skills.x")`` → ``agents[0].skills.x``; empty parts are skipped."""
    return ".".join(part.lstrip(".") for part in parts if part).replace(".[", "[")


def _locate(error: ErrorDetails, root: Any) -> Located:
    path, model = _walk(root, error["loc"])
    ctx = error.get("ctx") or {}
    path = join_path(path, str(ctx.get("at", "")))
    return Located(path, _message(error, model))


def _walk(root: Any, loc: tuple[int | str, ...]) -> tuple[str, type[BaseModel] | None]:
    """The printable path of ``loc`` (union tags dropped) and the model that holds its last key."""
    current: Any = root
    holder: type[BaseModel] | None = None
    path = ""
    for part in loc:
        current = _unwrap(current)
        members = _union_members(current)
        if members:  # a tagged union: this part is the tag, not a key of the file
            current = _tagged(members, part)
            continue
        if part == "[key]":  # pydantic's marker for an error in a mapping's key
            continue
        holder = current if _is_model(current) else None
        path += f"[{part}]" if isinstance(part, int) and not _is_mapping(current) else f".{part}"
        current = _child(current, part)
    return path.lstrip("."), holder


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    members = _union_members(tp)
    rest = [m for m in members if m is not type(None)]
    return rest[0] if members and len(rest) == 1 else tp


def _union_members(tp: Any) -> tuple[Any, ...]:
    return get_args(tp) if get_origin(tp) in (Union, types.UnionType) else ()


def _tagged(members: tuple[Any, ...], tag: int | str) -> Any:
    for member in members:
        tags = [m.tag for m in get_args(member)[1:] if isinstance(m, Tag)] \
            if get_origin(member) is Annotated else []
        model = _unwrap(member)
        if tag in tags or (_is_model(model) and any(
                get_origin(f.annotation) is Literal and tag in get_args(f.annotation)
                for f in model.model_fields.values())):
            return model
    return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_mapping(tp: Any) -> bool:
    return (get_origin(tp) or tp) in _MAPPINGS


def _child(tp: Any, part: int | str) -> Any:
    if _is_model(tp):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    args = get_args(tp)
    if _is_mapping(tp):
        return args[1] if len(args) == 2 else None
    if (get_origin(tp) or tp) in _SEQUENCES:
        return args[0] if args else None
    return None


def _message(error: ErrorDetails, model: type[BaseModel] | None) -> str:
    kind = error["type"]
    ctx = dict(error.get("ctx") or {})
    if kind == CUSTOM:
        return str(ctx.get("message", error["msg"]))
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    key = error["loc"][-1] if error["loc"] else ""
    if kind == "extra_forbidden":
        known = _known(model)
        return f"unknown field (known: {', '.join(known)})" if known else "unknown field"
    if kind == "missing" and model is not None and isinstance(key, str):
        hint = _missing_hint(model, key)
        if hint:
            return f"missing: {hint}"
    template = _MESSAGES.get(kind)
    if template is None:
        return error["msg"]
    ctx = {k: str(v).replace("'", "") if k in ("discriminator", "expected_tags") else v
           for k, v in ctx.items()}
    try:
        return template.format(input=error.get("input"), **ctx)
    except KeyError:  # a pydantic version without that context: its own words
        return error["msg"]


def _known(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items() if not info.exclude]


def _missing_hint(model: type[BaseModel], key: str) -> str:
    for name, info in model.model_fields.items():
        if key in (name, info.alias) and isinstance(info.json_schema_extra, dict):
            return str(info.json_schema_extra.get("missing", ""))
    return ""
