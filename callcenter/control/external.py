"""Blind transfer to an outside number (``config/external_numbers.yaml``): the toll-fraud guard
and the AMI action.

    destinations:
      - {code: warehouse, number: "+861055500100", label: {en: Warehouse, zh-CN: 仓库}}
    patterns: ["^\\+86400[0-9]{7}$"]

A transfer names a destination's ``code``, or a number that matches one of ``patterns`` in full;
anything else is refused (400 ``number_not_allowed``), so an agent's session cannot dial
premium or foreign numbers through the carrier. Asterisk sends the agent's peer (the caller) to
``[cc-external]`` at the number's extension (``BlindTransfer``), which dials it through the
carrier showing the center's number; a dial nobody answers takes the caller back to routing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import PlainValidator, ValidationError

from callcenter.ami.messages import Action
from callcenter.calls.external import EXTERNAL_CONTEXT, mask_number
from callcenter.control.plan import CallView, Control, Plan, Refused, stop_music
from callcenter.schema.base import Schema, fail, summary

NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SEPARATORS = re.compile(r"[\s\-().]")


class ExternalConfigError(ValueError):
    """The external numbers file is unreadable or wrong; the message names the field."""


def _number(value: Any) -> str:
    if not isinstance(value, str) or not NUMBER.match(value):
        fail(f"must be a phone number (digits, an optional leading +), got {value!r}")
    return value


def _code(value: Any) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        fail(f"must be a lower-case word (letters, digits, underscores), got {value!r}")
    return value


def _label(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 60:
        fail("must be a non-empty string of at most 60 characters")
    return value.strip()


def _pattern(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        fail(f"must be a regular expression, got {value!r}")
    try:
        return re.compile(value)
    except re.error as exc:
        fail(f"is not a regular expression: {exc}")


class Destination(Schema):
    code: Annotated[str, PlainValidator(_code)]
    number: Annotated[str, PlainValidator(_number)]
    label: dict[str, Annotated[str, PlainValidator(_label)]]


class _File(Schema):
    destinations: tuple[Destination, ...] = ()
    patterns: tuple[Annotated[re.Pattern[str], PlainValidator(_pattern)], ...] = ()


@dataclass(frozen=True, slots=True)
class Outside:
    """Where a transfer goes: the number to dial and what the call's record and logs show."""

    number: str
    code: str  # the destination's code, "" for a number matched by a pattern

    @property
    def masked(self) -> str:
        return mask_number(self.number)


class ExternalNumbers:
    """The allowed outside destinations; empty: transfers outside are refused."""

    def __init__(self, destinations: Iterable[Destination] = (),
                 patterns: Iterable[re.Pattern[str]] = ()) -> None:
        self._destinations = {d.code: d for d in destinations}
        self._patterns = tuple(patterns)

    def resolve(self, asked: str) -> Outside:
        """The destination ``asked`` (a code or a number), if the deployment allows it.

        Raises:
            Refused: 400 ``number_not_allowed`` (nothing is dialled).
        """
        found = self._destinations.get(asked)
        if found is not None:
            return Outside(found.number, found.code)
        number = _SEPARATORS.sub("", asked)
        if NUMBER.match(number) and any(p.fullmatch(number) for p in self._patterns):
            return Outside(number, "")
        raise Refused(400, "this number is not in the outside numbers agents may transfer to",
                      "number_not_allowed")

    def to_json(self) -> list[dict[str, Any]]:
        """The directory as the console lists it (numbers masked)."""
        return [{"code": d.code, "label": dict(d.label), "number": mask_number(d.number)}
                for d in self._destinations.values()]

    @property
    def typed_allowed(self) -> bool:
        return bool(self._patterns)


def parse_external_numbers(data: Any) -> ExternalNumbers:
    """Raises: ExternalConfigError naming the field (``destinations[1].number: …``)."""
    try:
        parsed = _File.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ExternalConfigError(summary(exc, _File, "external numbers file")) from None
    codes = [d.code for d in parsed.destinations]
    if len(set(codes)) != len(codes):
        raise ExternalConfigError("destinations: each code may be used once")
    for d in parsed.destinations:
        if "en" not in d.label:
            raise ExternalConfigError(f"destinations.{d.code}.label.en: missing")
    return ExternalNumbers(parsed.destinations, parsed.patterns)


def load_external_numbers(path: Path) -> ExternalNumbers:
    """``external_numbers.yaml``; none allowed when the file does not exist.

    Raises:
        ExternalConfigError: unreadable file or a bad entry.
    """
    if not path.exists():
        return ExternalNumbers()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExternalConfigError(f"{path}: {exc}") from None
    return parse_external_numbers(data)


def plan_outside(call: CallView, state: Control, number: str) -> Plan:
    """BlindTransfer of the agent's channel to ``[cc-external]`` at ``number`` (the caller
    leaves the agent, a held caller's music is stopped).

    Raises:
        Refused: 409 for a call that is over or not connected to the agent.
    """
    if not call.live or state.ended:
        raise Refused(409, "the call has ended", "call_ended")
    if not call.talking or not call.agent_channel:
        raise Refused(409, "the call is not connected to you", "not_talking")
    if not NUMBER.match(number):
        raise ValueError("an outside transfer needs a checked number")
    action = Action("BlindTransfer", (("Channel", call.agent_channel),
                                      ("Context", EXTERNAL_CONTEXT), ("Exten", number)))
    return Plan((*stop_music(state), action), replace(state, ended=True, held=False))
