"""``config/agents.yaml``: the demo/seed agents, and ``config/skills.yaml``'s skill names.

    agents:
      - {login: sam, name: Sam Lee, dial_string: PJSIP/1001, languages: [en],
         skills: {general: 4, refunds: 5}}

Each entry is read by :class:`AgentEntry` (unknown keys refused, every error naming
``agents[3].skills.refunds``); logins must be unique and skills known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, PlainValidator, ValidationError, model_validator

from callcenter.agents.errors import AgentConfigError
from callcenter.agents.model import MAX_LEVEL, MIN_LEVEL, AgentProfile
from callcenter.schema.base import Schema, fail, summary
from callcenter.schema.fields import Integer, between
from callcenter.schema.skills import read_skill_names

_LOGIN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


def _login(value: Any) -> str:
    if not isinstance(value, str) or not _LOGIN.match(value):
        fail("required; letters, digits and _.@- (at most 64)")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        fail("must be a non-empty string")
    return value.strip()


def _dial(value: Any) -> str:
    if not isinstance(value, str) or "/" not in value or any(c in value for c in "\r\n ,"):
        fail("required, an Asterisk dial string such as PJSIP/1001")
    return value


def _languages(value: Any) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(
            isinstance(x, str) and _LANGUAGE.match(x) for x in items):
        fail("a non-empty list of language codes such as en, zh")
    return frozenset(items)


def _one_call(value: Any) -> int:
    if value != 1 or isinstance(value, bool):
        fail("voice agents take one call at a time (1)")
    return 1


class AgentEntry(Schema):
    """One agent; ``agent_id`` may stand for ``login``, ``name`` defaults to the login."""

    login: Annotated[str, PlainValidator(_login)]
    name: Annotated[str, PlainValidator(_name)] | None = None
    dial_string: Annotated[str, PlainValidator(_dial), Field(json_schema_extra={
        "missing": "an Asterisk dial string such as PJSIP/1001"})]
    skills: dict[str, Annotated[Integer, between(MIN_LEVEL, MAX_LEVEL)]] = Field(default_factory=dict)
    languages: Annotated[frozenset[str], PlainValidator(_languages)] = frozenset({"en"})
    max_concurrent: Annotated[int, PlainValidator(_one_call)] = 1

    @model_validator(mode="before")
    @classmethod
    def _agent_id_is_the_login(cls, data: Any) -> Any:
        if isinstance(data, dict) and "agent_id" in data and "login" not in data:
            return {("login" if key == "agent_id" else key): value for key, value in data.items()}
        return data

    def profile(self) -> AgentProfile:
        return AgentProfile(self.login, self.name or self.login, self.dial_string, self.skills,
                            self.languages, self.max_concurrent)


class AgentsFile(Schema):
    agents: tuple[AgentEntry, ...]


def load_skill_names(path: Path) -> list[str]:
    """Skill names from ``skills.yaml`` (``skills: [{name: …}, …]`` or ``skills: [name, …]``).

    Raises:
        AgentConfigError: the file is unreadable or not of that shape (names the entry).
    """
    try:
        return read_skill_names(path)
    except ValueError as exc:
        raise AgentConfigError(str(exc)) from None


def parse_agents(data: Any, known_skills: Iterable[str] | None = None,
                 source: str = "agents") -> list[AgentProfile]:
    """Profiles from ``{"agents": [...]}``.

    Raises:
        AgentConfigError: names the field (``agents[3].skills.refunds``); logins must be unique
            and, when ``known_skills`` is given, skills known.
    """
    try:
        entries = AgentsFile.model_validate(data).agents
    except ValidationError as exc:
        raise AgentConfigError(summary(exc, AgentsFile, "agents file")) from None
    known = set(known_skills) if known_skills is not None else None
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        unknown = sorted(set(entry.skills) - known) if known is not None else []
        if unknown:
            raise AgentConfigError(f"agents[{i}].skills.{unknown[0]}: unknown skill"
                                   f" (known: {', '.join(sorted(known or ()))})")
        if entry.login in seen:
            raise AgentConfigError(f"agents[{i}].login: {entry.login!r} is already used by"
                                   f" agents[{seen[entry.login]}]")
        seen[entry.login] = i
    return [entry.profile() for entry in entries]


def load_agents(path: Path, known_skills: Iterable[str] | None = None) -> list[AgentProfile]:
    """Read ``agents.yaml``.

    Raises:
        AgentConfigError: unreadable file or a bad entry (the message names the field).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise AgentConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise AgentConfigError(f"{path}: not valid YAML ({exc})") from None
    try:
        return parse_agents(data, known_skills)
    except AgentConfigError as exc:
        raise AgentConfigError(f"{path}: {exc.message}") from None
