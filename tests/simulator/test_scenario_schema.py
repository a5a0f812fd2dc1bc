"""Scenario files through their models: unknown keys are refused where they stand, a wrong type
names the field's path, and the shipped scenarios load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callcenter.simulator.config import ConfigError, config_from_mapping, load_config
from callcenter.simulator.scenario import ScenarioError, load_scenario, parse_scenario

SHIPPED = sorted((Path(__file__).parents[2] / "callcenter" / "simulator" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize(("raw", "message"), [
    ({"title": "x"}, "title: unknown field (known: name, callers, agents)"),
    ({"callers": [{"number": "1", "presses": [{"after_s": 1, "digits": "1", "hold_ms": 5}]}]},
     "callers[0].presses[0].hold_ms: unknown field (known: after_s, digits, duration_ms)"),
    ({"callers": [{"number": "1", "arrival": {"at_s": [0], "every_s": 5}}]},
     "callers[0].arrival.every_s: unknown field"),
    ({"callers": [{"number": "1", "survey": {"digits": "5", "mood": "happy"}}]},
     "callers[0].survey.mood: unknown field (known: digits, after_s)"),
    ({"agents": [{"extension": "1001", "registration": [{"at_s": 1, "why": "reboot"}]}]},
     "agents[0].registration[0].why: unknown field (known: at_s, registered)"),
    ({"agents": [{"extension": "1001", "number": "1"}]}, "agents[0].number: unknown field"),
])
def test_given_unknown_key_then_refused_with_its_location(raw: Any, message: str, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, tmp_path)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("raw", "message"), [
    ({"callers": {"number": "1"}}, "callers: must be a list"),
    ({"callers": [{"number": "1", "patience_s": "long"}]}, "callers[0].patience_s: must be a number, got 'long'"),
    ({"callers": [{"number": "1", "arrival": {"rate_per_min": 1, "duration_s": 60, "seed": 1.5}}]},
     "callers[0].arrival.seed: must be an integer, got 1.5"),
    ({"callers": [{"number": "1", "arrival": {"at_s": [0], "rate_per_min": 1, "duration_s": 60}}]},
     "callers[0].arrival: give either at_s or rate_per_min, not both"),
    ({"callers": [{"number": "1", "name": "two\nlines"}]}, "callers[0].name: must be one line"),
    ({"agents": [{"extension": "1001", "registered": "no"}]}, "agents[0].registered: must be true or false"),
    ({"agents": [{"extension": "1001", "dial": "Local/1001"}]}, "agents[0].dial: a Local dial string needs @"),
])
def test_given_wrong_type_then_the_field_path_is_named(raw: Any, message: str, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, tmp_path)
    assert str(info.value).startswith(message)


def test_given_defaults_then_callers_answer_at_once_and_agents_after_a_second(tmp_path: Path) -> None:
    scenario = parse_scenario({"callers": [{"number": 13800000001}], "agents": [{"extension": 1001}]},
                              tmp_path)
    caller, agent = scenario.callers[0], scenario.agents[0]
    assert (caller.number, caller.exten, caller.arrival.at_s, caller.behaviour.answer_after_s) == (
        "13800000001", "4001", (0.0,), 0.0)
    assert (agent.dial_string, agent.context, agent.behaviour.answer_after_s) == ("PJSIP/1001", "agents", 1.0)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.callers and scenario.agents


def test_the_shipped_settings_file_loads_and_refuses_unknown_keys(tmp_path: Path) -> None:
    config = load_config(SHIPPED[0].parent / "example-config.toml")
    assert config.port == 5038 and config.recording_dir.name == "recordings"
    with pytest.raises(ConfigError, match=r"^simulator\.sound_dir: unknown field \(known: host, port"):
        config_from_mapping({"sound_dir": "/tmp"})
    with pytest.raises(ConfigError, match=r"^simulator\.sound_dirs\[1\]: must be a string, got 3"):
        config_from_mapping({"sound_dirs": ["a", 3]})
