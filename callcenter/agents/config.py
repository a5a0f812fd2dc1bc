"""``config/agents.yaml``: the demo/seed agents, and ``config/skills.yaml``'s skill names."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from callcenter.agents.errors import AgentConfigError
from callcenter.agents.model import AgentProfile, make_profile


def load_skill_names(path: Path) -> list[str]:
    """Skill names from ``skills.yaml`` (``skills: [{name: …}, …]`` or ``skills: [name, …]``).

    Raises:
        AgentConfigError: the file is unreadable or not of that shape (names the entry).
    """
    data = _read_yaml(path)
    items = data.get("skills") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise AgentConfigError(f"{path}: skills: must be a list")
    names: list[str] = []
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name:
            raise AgentConfigError(f"{path}: skills[{i}].name: must be a non-empty string")
        names.append(name)
    return names


def parse_agents(data: Any, known_skills: Iterable[str] | None = None,
                 source: str = "agents") -> list[AgentProfile]:
    """Profiles from ``{"agents": [...]}``.

    Raises:
        AgentConfigError: names the field (``agents[3].skills.refunds``); logins must be unique.
    """
    if not isinstance(data, dict) or not isinstance(data.get("agents"), list):
        raise AgentConfigError(f"{source}: agents: must be a list")
    known = list(known_skills) if known_skills is not None else None
    profiles: list[AgentProfile] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(data["agents"]):
        profile = make_profile(entry, f"agents[{i}]", known)
        if profile.agent_id in seen:
            raise AgentConfigError(f"agents[{i}].login: {profile.agent_id!r} is already used by"
                                   f" agents[{seen[profile.agent_id]}]")
        seen[profile.agent_id] = i
        profiles.append(profile)
    return profiles


def load_agents(path: Path, known_skills: Iterable[str] | None = None) -> list[AgentProfile]:
    """Read ``agents.yaml``.

    Raises:
        AgentConfigError: unreadable file or a bad entry (the message names the field).
    """
    try:
        return parse_agents(_read_yaml(path), known_skills)
    except AgentConfigError as exc:
        if str(path) in exc.message:
            raise
        raise AgentConfigError(f"{path}: {exc.message}") from None


def _read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise AgentConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise AgentConfigError(f"{path}: not valid YAML ({exc})") from None
