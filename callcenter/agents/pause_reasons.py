"""Pause reasons as configured data (``config/pause_reasons.yaml``).

    pause_reasons:
      - {code: break, label: {en: Break, zh-CN: 休息}}

Each entry is read by :class:`PauseReasonEntry` (unknown keys refused, errors naming
``pause_reasons[2].label.zh-CN``); codes are unique and may not take a system reason's name.
The catalogue says which reasons a person may choose (:meth:`PauseReasons.check`); the
server's own reasons (:data:`SYSTEM_REASONS`) are set by routing and never chosen, except
``after_call_work``, the wrap-up's "More time", which the agent asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, PlainValidator, ValidationError, field_validator

from callcenter.agents.errors import AgentConfigError, InvalidAgentRequest
from callcenter.agents.model import check_reason
from callcenter.schema.base import Schema, fail, summary

LANGUAGES = ("en", "zh-CN")
#: the extension of wrap-up the agent desktop asks for ("More time")
AFTER_CALL_WORK = "after_call_work"
#: reasons the server sets itself (routing reactions, log-in, restarts, wrap-up extension)
SYSTEM_REASONS = frozenset({"login", "missed", "phone_busy", "offer_failed", "restored",
                            AFTER_CALL_WORK})
#: system reasons a person may ask for
ASKABLE_SYSTEM_REASONS = frozenset({AFTER_CALL_WORK})


def _code(value: Any) -> str:
    if not isinstance(value, str):
        fail(f"must be a string, got {value!r}")
    try:
        check_reason(value, "code")
    except AgentConfigError:
        fail(f"must be a lower-case word of letters, digits and underscores (at most 64), got {value!r}")
    if value in SYSTEM_REASONS:
        fail(f"{value!r} is a system reason (the server sets it itself)")
    return value


def _label(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 60:
        fail("must be a non-empty string of at most 60 characters")
    return value.strip()


class Labels(Schema):
    """A label in every page language."""

    en: Annotated[str, PlainValidator(_label)]
    zh_cn: Annotated[str, PlainValidator(_label), Field(alias="zh-CN")]


class PauseReasonEntry(Schema):
    code: Annotated[str, PlainValidator(_code)]
    label: Labels


class PauseReasonsFile(Schema):
    pause_reasons: tuple[PauseReasonEntry, ...]

    @field_validator("pause_reasons")
    @classmethod
    def _unique(cls, entries: tuple[PauseReasonEntry, ...]) -> tuple[PauseReasonEntry, ...]:
        if not entries:
            fail("must list at least one reason")
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if entry.code in seen:
                fail(f"{entry.code!r} is already used by pause_reasons[{seen[entry.code]}]",
                     at=f"[{i}].code")
            seen[entry.code] = i
        return entries


class PauseReasons:
    """The configured reasons, in the file's order."""

    def __init__(self, entries: Iterable[PauseReasonEntry]) -> None:
        self._entries = tuple(entries)
        self._codes = frozenset(e.code for e in self._entries)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self._entries)

    def check(self, reason: str) -> str:
        """A reason a person may choose: configured, or ``after_call_work``.

        Raises:
            InvalidAgentRequest: names the known reasons.
        """
        if reason in self._codes or reason in ASKABLE_SYSTEM_REASONS:
            return reason
        raise InvalidAgentRequest(f"reason: unknown pause reason {reason!r}"
                                  f" (known: {', '.join(self.codes)})")

    def label(self, code: str, language: str) -> str:
        """The label of a configured reason in ``language`` (English when unknown), else the code."""
        for entry in self._entries:
            if entry.code == code:
                return entry.label.zh_cn if language == "zh-CN" else entry.label.en
        return code

    def to_json(self) -> list[dict[str, Any]]:
        return [{"code": e.code, "label": {"en": e.label.en, "zh-CN": e.label.zh_cn}}
                for e in self._entries]


def parse_pause_reasons(data: Any) -> PauseReasons:
    """Raises: AgentConfigError naming the field (``pause_reasons[2].label.zh-CN: missing``)."""
    try:
        return PauseReasons(PauseReasonsFile.model_validate(data).pause_reasons)
    except ValidationError as exc:
        raise AgentConfigError(summary(exc, PauseReasonsFile, "pause reasons file")) from None


def default_pause_reasons() -> PauseReasons:
    """What a deployment without ``pause_reasons.yaml`` offers."""
    return parse_pause_reasons({"pause_reasons": [
        {"code": "break", "label": {"en": "Break", "zh-CN": "休息"}},
        {"code": "lunch", "label": {"en": "Lunch", "zh-CN": "午餐"}},
        {"code": "training", "label": {"en": "Training", "zh-CN": "培训"}},
        {"code": "meeting", "label": {"en": "Meeting", "zh-CN": "会议"}},
    ]})


def load_pause_reasons(path: Path) -> PauseReasons:
    """Read ``pause_reasons.yaml``; the defaults when the file does not exist.

    Raises:
        AgentConfigError: unreadable file or a bad entry (the message names the file and field).
    """
    if not path.exists():
        return default_pause_reasons()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise AgentConfigError(f"{path}: not valid YAML ({exc})") from None
    try:
        return parse_pause_reasons(data)
    except AgentConfigError as exc:
        raise AgentConfigError(f"{path}: {exc.message}") from None
