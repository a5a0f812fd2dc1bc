"""Flow validation: each broken flow is refused with a problem naming file, node and field; the
shipped flows pass; ``callcenter ivr validate`` exits accordingly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr import cli
from ivr.errors import FlowError, Problem
from ivr.loader import load_flow
from ivr.sounds import PROJECT_SOUNDS, SYSTEM_SOUNDS, SoundIndex, default_sound_dirs
from ivr.validate import Checks, load_skills, validate_paths

ROOT = Path(__file__).resolve().parents[2]
FLOWS = sorted((ROOT / "config" / "ivr").glob("*.yaml"))
SKILLS = load_skills(ROOT / "config" / "skills.yaml")
SOUNDS = SoundIndex.of(["en/welcome", "en/main-menu", "goodbye", "zh/welcome", "zh/goodbye", "zh/main-menu",
                        "en/pm-invalid-option", "zh/pm-invalid-option"])
CORE_SOUNDS = any((d / "en" / "goodbye.wav").is_file() for d in SYSTEM_SOUNDS)

GOOD: dict[str, Any] = {
    "id": "demo", "version": 1, "default_language": "en", "languages": ["en", "zh"], "entry": "welcome",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "main"},
        "main": {"type": "menu", "prompts": ["main-menu"], "choices": {1: "orders", 2: "bye"}},
        "orders": {"type": "route", "skill": "orders"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]},
    },
}


def problems_of(tmp_path: Path, flow: dict[str, Any], sounds: SoundIndex | None = SOUNDS) -> list[Problem]:
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(flow, allow_unicode=True), encoding="utf-8")
    return [p for p in validate_paths([path], Checks(sounds=sounds, skills=SKILLS))[str(path)] if p.is_error]


def broken(**nodes: Any) -> dict[str, Any]:
    flow = json.loads(json.dumps(GOOD))
    for name, node in nodes.items():
        if node is None:
            del flow["nodes"][name]
        else:
            flow["nodes"][name] = node
    return flow


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_given_good_flow_then_no_problem(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD) == []


def test_given_unknown_node_type_then_named(tmp_path: Path) -> None:
    p = only(problems_of(tmp_path, broken(bye={"type": "queue", "prompts": ["goodbye"]})))
    assert (p.node, p.field) == ("bye", "type") and "unknown node type 'queue'" in p.message
    assert str(p).startswith(f"{tmp_path / 'flow.yaml'}: node 'bye': field 'type': error:")


def test_given_unknown_field_then_named(tmp_path: Path) -> None:
    p = only(problems_of(tmp_path, broken(bye={"type": "hangup", "prompts": ["goodbye"], "promtps": []})))
    assert (p.node, p.field) == ("bye", "promtps") and "unknown field" in p.message


def test_given_dangling_next_then_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, broken(welcome={"type": "play", "prompts": ["welcome"], "next": "mian"}))
    p = problems[0]
    assert (p.node, p.field) == ("welcome", "next") and "'mian', which is not a node" in p.message
    assert {x.node for x in problems[1:]} == {"main", "orders", "bye"}  # cut off by the typo
    problems = problems_of(tmp_path, broken(main={"type": "menu", "prompts": ["main-menu"],
                                                  "choices": {1: "orders", 2: "nowhere"}}))
    assert ("main", "choices.2") in [(x.node, x.field) for x in problems]


def test_given_unreachable_node_then_named(tmp_path: Path) -> None:
    p = only(problems_of(tmp_path, broken(lonely={"type": "hangup"})))
    assert (p.node, p.message) == ("lonely", "unreachable: no path from the entry leads here")


def test_given_loop_that_never_waits_for_input_then_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, broken(
        welcome={"type": "play", "prompts": ["welcome"], "next": "again"},
        again={"type": "branch", "rules": [{"if": {"field": "x", "op": "exists"}, "next": "main"}],
               "default": "welcome"}))
    p = only(problems)
    assert p.node == "again" and "loop with no caller input" in p.message and "welcome" in p.message


def test_given_loop_through_a_menu_then_fine(tmp_path: Path) -> None:
    flow = broken(bye={"type": "play", "prompts": ["goodbye"], "next": "main"})
    assert problems_of(tmp_path, flow) == []


def test_given_collect_without_timeout_then_named(tmp_path: Path) -> None:
    flow = broken(main={"type": "collect", "prompts": ["main-menu"], "store": "order_number", "next": "bye"},
                  orders=None)
    p = only(problems_of(tmp_path, flow))
    assert (p.node, p.field) == ("main", "timeout") and "seconds to wait" in p.message


def test_given_prompt_in_no_sound_directory_then_named(tmp_path: Path) -> None:
    p = only(problems_of(tmp_path, broken(bye={"type": "hangup", "prompts": ["welcome", "good-bye"]})))
    assert (p.node, p.field) == ("bye", "prompts[1]") and "'good-bye' exists in no sound directory" in p.message


def test_given_prompt_recorded_for_one_language_only_then_error_for_the_other(tmp_path: Path) -> None:
    sounds = SoundIndex.of([*SOUNDS.names, "zh/survey-thanks"])
    p = only(problems_of(tmp_path, broken(bye={"type": "hangup", "prompts": ["survey-thanks"]}), sounds))
    assert "no recording that en callers can hear" in p.message


def test_given_prompt_without_translation_then_warning_only(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(broken(bye={"type": "hangup", "prompts": ["hello-world"]})))
    found = validate_paths([path], Checks(sounds=SoundIndex.of([*SOUNDS.names, "en/hello-world"]),
                                          skills=SKILLS))[str(path)]
    assert [(p.severity, p.node) for p in found] == [("warning", "bye")]
    assert "no zh recording" in found[0].message


def test_given_route_or_set_to_unknown_skill_then_named(tmp_path: Path) -> None:
    p = only(problems_of(tmp_path, broken(orders={"type": "route", "skill": "billing"})))
    assert (p.node, p.field) == ("orders", "skill") and "unknown skill 'billing'" in p.message
    flow = broken(orders={"type": "set", "skill": "warranty", "next": "go"},
                  go={"type": "route"})
    assert [(x.node, x.field) for x in problems_of(tmp_path, flow)] == [("orders", "skill")]


@pytest.mark.parametrize(("validator", "message"), [
    ("postcode", "unknown validator 'postcode'"),
    ({"name": "order_number", "pattern": "[0-9"}, "is not a regular expression"),
    ({"name": "phone", "pattern": "[0-9]+"}, "'pattern' only applies to order_number"),
    ({"name": "score", "min": 5, "max": 1}, "min 5 is above max 1"),
])
def test_given_bad_validator_then_named(tmp_path: Path, validator: object, message: str) -> None:
    flow = broken(main={"type": "collect", "prompts": ["main-menu"], "store": "x", "timeout": 5,
                        "validator": validator, "next": "bye"}, orders=None)
    p = only(problems_of(tmp_path, flow))
    assert (p.node, p.field) == ("main", "validator") and message in p.message


@pytest.mark.parametrize(("key", "field", "message"), [
    ("12", "choices.12", "'12' is not a DTMF key"),
    ("a", "choices.a", "'a' is not a DTMF key"),
    ("#", "choices.#", "'#' ends the caller's input"),
])
def test_given_menu_key_that_is_not_dtmf_then_named(tmp_path: Path, key: str, field: str, message: str) -> None:
    flow = broken(main={"type": "menu", "prompts": ["main-menu"], "choices": {1: "orders", key: "bye"}})
    p = only(problems_of(tmp_path, flow))
    assert (p.node, p.field) == ("main", field) and message in p.message


def test_given_several_problems_then_all_reported_in_one_run(tmp_path: Path) -> None:
    flow = broken(welcome={"type": "play", "prompts": ["welcome"], "next": "nowhere"},
                  orders={"type": "route", "skill": "billing"}, bye={"type": "hangup", "prompts": ["nope"]})
    fields = {(p.node, p.field) for p in problems_of(tmp_path, flow)}
    assert {("welcome", "next"), ("orders", "skill"), ("bye", "prompts[0]")} <= fields


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"entry": "start"}, "entry", "'start' is not a node"),
    ({"default_language": "fr"}, "default_language", "not in languages"),
    ({"version": "two"}, "version", "must be an integer"),
    ({"calendars": {"x": {"timezone": "Mars/Olympus", "hours": []}}}, "calendars.x.timezone", "unknown time zone"),
    ({"colour": "blue"}, "colour", "unknown field"),
])
def test_given_bad_top_level_field_then_named(tmp_path: Path, change: dict[str, Any], field: str,
                                              message: str) -> None:
    problems = problems_of(tmp_path, {**GOOD, **change})
    assert any(p.field == field and message in p.message for p in problems), [str(p) for p in problems]


def test_given_branch_on_undefined_calendar_then_named(tmp_path: Path) -> None:
    flow = broken(welcome={"type": "branch", "rules": [{"if": {"calendar": "hours", "is": "open"},
                                                        "next": "main"}], "default": "bye"})
    p = only(problems_of(tmp_path, flow))
    assert (p.node, p.field) == ("welcome", "rules[0].if.calendar") and "unknown calendar" in p.message


def test_given_yaml_syntax_error_then_line_named(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("id: x\nnodes:\n  a: {type: play\n")
    (p,) = validate_paths([path], Checks())[str(path)]
    assert "not valid YAML (line" in p.message


def test_given_two_files_with_one_flow_id_then_second_named(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(GOOD))
    results = validate_paths([tmp_path / "a.yaml", tmp_path / "b.yaml"], Checks(sounds=SOUNDS, skills=SKILLS))
    assert [p.field for p in results[str(tmp_path / "b.yaml")]] == ["id"]


def test_load_flow_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(broken(bye={"type": "hangup", "prompts": "x", "extra": 1},
                                          welcome={"type": "dance"})))
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert {p.node for p in caught.value.problems} == {"bye", "welcome"}


# --- the shipped flows -----------------------------------------------------------------------

def test_shipped_flows_pass_the_graph_skill_and_input_checks() -> None:
    results = validate_paths(FLOWS, Checks(sounds=None, skills=SKILLS))
    assert {path: [str(p) for p in found] for path, found in results.items() if found} == {}


@pytest.mark.skipif(not CORE_SOUNDS, reason="needs Debian asterisk-core-sounds-en-wav (stock English prompts)")
def test_shipped_flows_pass_with_the_real_sound_directories() -> None:
    results = validate_paths(FLOWS, Checks(sounds=SoundIndex.scan(default_sound_dirs()), skills=SKILLS))
    assert {path: [str(p) for p in found] for path, found in results.items() if found} == {}


def test_shipped_flows_use_only_project_prompts_apart_from_goodbye_and_invalid_option() -> None:
    results = validate_paths(FLOWS, Checks(sounds=SoundIndex.scan([PROJECT_SOUNDS]), skills=SKILLS))
    messages = {p.message.split("'")[1] for found in results.values() for p in found if p.is_error}
    assert messages <= {"goodbye", "pm-invalid-option"}


# --- the command ------------------------------------------------------------------------------

def test_cli_validate_exits_zero_for_shipped_flows(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["validate", *map(str, FLOWS)] + ([] if CORE_SOUNDS else ["--no-sounds"])
    assert cli.main(args) == 0
    assert "ok: 3 file(s), 0 error(s)" in capsys.readouterr().err


def test_cli_validate_exits_one_and_names_each_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ivr" / "bad.yaml"
    path.parent.mkdir()
    (tmp_path / "skills.yaml").write_text("skills: [{name: general}]\n")
    path.write_text(yaml.safe_dump(broken(orders={"type": "route", "skill": "orders"},
                                          welcome={"type": "play", "prompts": ["welcome"], "next": "x"})))
    assert cli.main(["validate", "--no-sounds", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: node 'welcome': field 'next': error: goes to 'x'" in out
    assert f"{path}: node 'orders': field 'skill': error: unknown skill 'orders' (known: general)" in out


def test_cli_validate_json_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(broken(bye={"type": "hangup", "prompts": ["hello-world"]})))
    sounds = tmp_path / "sounds"
    for name in ("en/welcome", "en/main-menu", "en/hello-world", "goodbye", "en/pm-invalid-option"):
        (sounds / f"{name}.wav").parent.mkdir(parents=True, exist_ok=True)
        (sounds / f"{name}.wav").write_bytes(b"")
    args = ["validate", "--sounds", str(sounds), "--skills", str(ROOT / "config" / "skills.yaml"), str(path)]
    assert cli.main([*args, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {p["severity"] for p in found} == {"warning"}
    assert cli.main([*args, "--strict"]) == 1


def test_cli_add_parser_wires_into_a_parent_parser() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="callcenter")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["ivr", "validate", "--no-sounds", *map(str, FLOWS)])
    assert args.command == "ivr" and cli.run(args) == 0
