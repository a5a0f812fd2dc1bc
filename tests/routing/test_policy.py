"""routing.yaml and agents.yaml: typed, checked, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.agents.config import load_agents, load_skill_names, parse_agents
from callcenter.agents.errors import AgentConfigError
from callcenter.agents.model import AgentState, device_of
from callcenter.routing.errors import RoutingPolicyError
from callcenter.routing.policy import Strategy, load_policy, parse_policy

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_given_shipped_config_then_policy_and_agents_load_against_the_skill_list() -> None:
    skills = load_skill_names(CONFIG / "skills.yaml")
    policy = load_policy(CONFIG / "routing.yaml", skills)
    refunds = policy.for_skill("refunds")
    assert [(s.after_s, s.skill, s.min_level) for s in refunds.steps[:3]] == [
        (0.0, "refunds", 4), (30.0, "refunds", 2), (60.0, "general", 1)]
    assert refunds.steps[3].offer_callback and refunds.wrap_up_s == 45
    assert refunds.on_no_answer.state is AgentState.PAUSED and refunds.on_no_answer.reason == "missed"
    assert policy.priority.score(0, {"vip"}, 0.0) == 100
    agents = load_agents(CONFIG / "agents.yaml", skills)
    assert len({a.dial_string for a in agents}) == len(agents)


def test_given_unlisted_skill_then_defaults_with_one_step_on_that_skill() -> None:
    policy = parse_policy({"defaults": {"strategy": "longest_idle", "wrap_up_s": 7}})
    other = policy.for_skill("warranty")
    assert other.strategy is Strategy.LONGEST_IDLE and other.wrap_up_s == 7
    assert [(s.skill, s.min_level) for s in other.steps] == [("warranty", 1)]


@pytest.mark.parametrize(("data", "message"), [
    ({"skills": {"refunds": {"steps": [{"after_s": 0, "min_level": 9}]}}},
     "skills.refunds.steps[0].min_level: must be between 1 and 5"),
    ({"skills": {"refunds": {"steps": [{"after_s": 5}]}}},
     "skills.refunds.steps[0].after_s: the first step must start at 0"),
    ({"skills": {"refunds": {"steps": [{"after_s": 0}, {"after_s": 0, "min_level": 2}]}}},
     "skills.refunds.steps[1].after_s: must be later than the step before"),
    ({"skills": {"refunds": {"strategy": "random", "steps": [{"after_s": 0}]}}},
     "skills.refunds.strategy: unknown strategy 'random'"),
    ({"defaults": {"on_no_answer": {"state": "paused"}}}, "defaults.on_no_answer.reason: required"),
    ({"defaults": {"ring_timeout_s": "fast"}}, "defaults.ring_timeout_s: must be a number"),
    ({"skills": {"refunds": {"steps": [{"after_s": 0, "skil": "general"}]}}},
     "skills.refunds.steps[0].skil: unknown field"),
    ({"skills": {"warranty": {"steps": [{"after_s": 0}]}}}, "skills.warranty: unknown skill"),
    ({"skills": {"refunds": {"steps": [{"after_s": 0}, {"after_s": 9, "skill": "gardening"}]}}},
     "skills.refunds.steps[1].skill: unknown skill 'gardening'"),
    ({"priority": {"tags": {"vip": "lots"}}}, "priority.tags.vip: must be a number"),
])
def test_given_bad_policy_then_error_names_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(RoutingPolicyError) as info:
        parse_policy(data, known_skills=["general", "refunds", "orders"])
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("entry", "message"), [
    ({"login": "x", "dial_string": "1001"}, "agents[0].dial_string"),
    ({"login": "x", "dial_string": "PJSIP/1", "skills": {"refunds": 6}}, "agents[0].skills.refunds"),
    ({"login": "x", "dial_string": "PJSIP/1", "skills": {"knitting": 2}}, "agents[0].skills.knitting"),
    ({"login": "x", "dial_string": "PJSIP/1", "max_concurrent": 2}, "agents[0].max_concurrent"),
    ({"login": "x", "dial_string": "PJSIP/1", "languages": []}, "agents[0].languages"),
    ({"dial_string": "PJSIP/1"}, "agents[0].login"),
])
def test_given_bad_agent_then_error_names_the_field(entry: dict[str, object], message: str) -> None:
    with pytest.raises(AgentConfigError) as info:
        parse_agents({"agents": [entry]}, ["refunds"])
    assert str(info.value).startswith(message)


def test_given_same_login_twice_then_error_names_both() -> None:
    entry = {"login": "sam", "dial_string": "PJSIP/1"}
    with pytest.raises(AgentConfigError, match=r"agents\[1\].login: 'sam' is already used by agents\[0\]"):
        parse_agents({"agents": [entry, entry]})


def test_device_of_dial_string_matches_what_device_state_events_name() -> None:
    assert device_of("PJSIP/1002") == "PJSIP/1002"
    assert device_of("Local/1001@sim-agent/n") == "Local/1001@sim-agent"
