"""What the router and the API know about an agent: the profile (who, which phone, which skills)
and the state (offline, ready, offered, talking, wrap_up, paused)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from callcenter.agents.errors import AgentConfigError

MIN_LEVEL = 1
MAX_LEVEL = 5
_LOGIN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class AgentState(StrEnum):
    OFFLINE = "offline"
    READY = "ready"
    OFFERED = "offered"  # the phone rings with a call
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


#: states in which the agent is logged in
LOGGED_IN = frozenset(s for s in AgentState if s is not AgentState.OFFLINE)


def check_reason(reason: str, field_name: str = "reason") -> str:
    """Pause reasons are short snake_case words (``break``, ``training``, ``missed``).

    Raises:
        AgentConfigError: names ``field_name``.
    """
    if not _REASON.match(reason):
        raise AgentConfigError(f"{field_name}: must be a lower-case word of letters, digits and"
                               f" underscores (at most 64), got {reason!r}")
    return reason


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """One agent as configured. ``agent_id`` is the login; ``db_id`` the row once stored.

    Voice agents take one call at a time (``max_concurrent`` 1); the field exists for the
    database row and for channels other than voice.
    """

    agent_id: str
    name: str
    dial_string: str
    skills: Mapping[str, int] = field(default_factory=dict)
    languages: frozenset[str] = frozenset({"en"})
    max_concurrent: int = 1
    db_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        object.__setattr__(self, "languages", frozenset(self.languages))

    def level(self, skill: str) -> int:
        return self.skills.get(skill, 0)

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "name": self.name, "dial_string": self.dial_string,
                "skills": dict(self.skills), "languages": sorted(self.languages),
                "max_concurrent": self.max_concurrent}


def check_skills(value: Any, path: str, known_skills: Iterable[str] | None = None) -> dict[str, int]:
    """``{skill: level}`` with levels 1–5 and, when ``known_skills`` is given, known names.

    Raises:
        AgentConfigError: names ``path.skill``.
    """
    if not isinstance(value, Mapping):
        raise AgentConfigError(f"{path}: must be a mapping of skill name to level 1-5")
    known = set(known_skills) if known_skills is not None else None
    skills: dict[str, int] = {}
    for skill, level in value.items():
        if not isinstance(skill, str) or not skill:
            raise AgentConfigError(f"{path}: skill names must be non-empty strings")
        if known is not None and skill not in known:
            raise AgentConfigError(f"{path}.{skill}: unknown skill (known: {', '.join(sorted(known))})")
        if isinstance(level, bool) or not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
            raise AgentConfigError(f"{path}.{skill}: level must be an integer from 1 to 5")
        skills[skill] = level
    return skills


def device_of(dial_string: str) -> str:
    """The Asterisk device a dial string rings, as ``DeviceStateChange`` names it.

    ``PJSIP/1002`` → ``PJSIP/1002``; ``Local/1001@sim-agent/n`` → ``Local/1001@sim-agent``.
    """
    tech, _, rest = dial_string.partition("/")
    return f"{tech}/{rest.split('/', 1)[0]}"
