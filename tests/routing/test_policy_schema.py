"""routing.yaml, agents.yaml and skills.yaml through their models: unknown keys are refused where
they stand, and a wrong type names the field's path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callcenter.agents.config import load_skill_names, parse_agents
from callcenter.agents.errors import AgentConfigError
from callcenter.routing.errors import RoutingPolicyError
from callcenter.routing.policy import parse_policy

SKILLS = ["general", "refunds"]


@pytest.mark.parametrize(("data", "message"), [
    ({"colour": 1}, "colour: unknown field (known: version, offer_grace_s, login_state, defaults,"),
    ({"defaults": {"wrap_up": 5}}, "defaults.wrap_up: unknown field (known: strategy, ring_timeout_s,"),
    ({"defaults": {"on_busy": {"state": "paused", "reason": "busy", "for_s": 5}}},
     "defaults.on_busy.for_s: unknown field (known: state, reason)"),
    ({"priority": {"order_value": {"cap": 3}}}, "priority.order_value.cap: unknown field"),
    ({"skills": {"refunds": {"steps": [{"after_s": 0, "level": 2}]}}},
     "skills.refunds.steps[0].level: unknown field (known: after_s, skill, min_level, any_language,"),
])
def test_given_unknown_key_in_policy_then_refused_with_its_location(data: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutingPolicyError) as info:
        parse_policy(data, SKILLS)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("data", "message"), [
    ({"offer_grace_s": True}, "offer_grace_s: must be a number, got True"),
    ({"skills": {"refunds": {"steps": [{"after_s": 0, "any_language": "yes"}]}}},
     "skills.refunds.steps[0].any_language: must be true or false, got 'yes'"),
    ({"skills": {"refunds": {"steps": {"after_s": 0}}}}, "skills.refunds.steps: must be a list"),
    ({"skills": {"refunds": {"sticky_s": -1, "steps": [{"after_s": 0}]}}},
     "skills.refunds.sticky_s: must be between 0 and 3600"),
    ({"login_state": {"state": "asleep"}}, "login_state.state: must be ready, paused or offline"),
    ({"login_state": {"state": "ready", "reason": "login"}}, "login_state.reason: only a paused state"),
])
def test_given_wrong_type_in_policy_then_the_field_path_is_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutingPolicyError) as info:
        parse_policy(data, SKILLS)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("entry", "message"), [
    ({"login": "x", "dial_string": "PJSIP/1", "team": "blue"}, "agents[0].team: unknown field (known: login,"),
    ({"login": "x", "dial_string": "PJSIP/1", "skills": {"refunds": "high"}},
     "agents[0].skills.refunds: must be an integer, got 'high'"),
    ({"login": "x", "dial_string": "PJSIP/1", "skills": ["refunds"]}, "agents[0].skills: must be a mapping"),
    ({"login": "x", "dial_string": 1001}, "agents[0].dial_string: required, an Asterisk dial string"),
    ({"agent_id": "x", "dial_string": "PJSIP/1", "languages": "english"}, "agents[0].languages: a non-empty list"),
])
def test_given_bad_agent_entry_then_refused_with_its_location(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(AgentConfigError) as info:
        parse_agents({"agents": [entry]}, SKILLS)
    assert str(info.value).startswith(message)


def test_given_agent_id_instead_of_login_then_it_is_the_login() -> None:
    (profile,) = parse_agents({"agents": [{"agent_id": "sam", "dial_string": "PJSIP/1001"}]})
    assert (profile.agent_id, profile.name, profile.languages) == ("sam", "sam", frozenset({"en"}))


@pytest.mark.parametrize(("text", "message"), [
    ("skills: [{name: general, colour: red}]\n", "skills[0].colour: unknown field (known: name, description)"),
    ("skills: [{name: 7}]\n", "skills[0].name: must be a string, got 7"),
    ("skills: []\n", "skills: must not be empty"),
    ("skill: [general]\n", "skills: missing; skill: unknown field (known: skills)"),
])
def test_given_bad_skills_file_then_refused_with_its_location(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "skills.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AgentConfigError) as info:
        load_skill_names(path)
    assert str(info.value) == f"{path}: {message}"


def test_given_bare_skill_names_then_read_as_skills(tmp_path: Path) -> None:
    path = tmp_path / "skills.yaml"
    path.write_text("skills: [general, {name: refunds, description: Money back}]\n", encoding="utf-8")
    assert load_skill_names(path) == ["general", "refunds"]
