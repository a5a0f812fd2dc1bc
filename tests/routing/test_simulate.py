"""``callcenter routing simulate``: traffic through the real router on a virtual clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.routing.cli import main
from callcenter.routing.policy import parse_policy
from callcenter.routing.simulate import Arrival, TrafficError, generate_traffic, read_traffic, simulate
from tests.routing.helpers import agent

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_given_two_agents_and_three_calls_then_statistics_follow_the_script() -> None:
    pol = parse_policy({"defaults": {"wrap_up_s": 10, "service_level_s": 20}})
    arrivals = [Arrival(0.0, "c1", "general", talk_s=100, answer_s=2),
                Arrival(1.0, "c2", "general", talk_s=100, answer_s=2),
                Arrival(2.0, "c3", "general", talk_s=50, answer_s=2, patience_s=30)]
    stats = simulate(arrivals, pol, [agent("a", {"general": 1}), agent("b", {"general": 1})])
    assert (stats.answered, stats.abandoned, stats.waiting) == (2, 1, 0)
    assert stats.asa_s == pytest.approx(2.0)
    assert stats.service_level == pytest.approx(2 / 3)


def test_given_stored_traffic_file_when_simulated_from_the_cli_then_json_statistics(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traffic = tmp_path / "calls.csv"
    traffic.write_text("at,call_id,skill,language,tags,talk_s,patience_s\n"
                       "0,c1,refunds,en,vip,120,60\n5,c2,orders,zh,,60,30\n9,c3,delivery,en,,90,\n",
                       encoding="utf-8")
    code = main(["routing", "simulate", "--calls", str(traffic), "--policy",
                 str(CONFIG / "routing.yaml"), "--agents", str(CONFIG / "agents.yaml"),
                 "--skills", str(CONFIG / "skills.yaml")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["calls"] == 3 and out["entered"] == 3
    assert out["answered"] + out["abandoned"] + out["callbacks"] == 3
    assert {s["skill"] for s in out["skills"]} >= {"refunds", "orders", "delivery"}
    assert len(out["agent_details"]) == 6


def test_given_generated_traffic_then_every_call_is_accounted_for(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["routing", "simulate", "--generate", "300", "--seed", "3", "--duration-s", "1800",
                 "--policy", str(CONFIG / "routing.yaml"), "--agents", str(CONFIG / "agents.yaml"),
                 "--no-agent-details"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entered"] == 300 and out["waiting"] == 0
    assert out["answered"] + out["abandoned"] + out["callbacks"] == 300
    assert "agent_details" not in out
    assert generate_traffic(10, ["general"], seed=3) == generate_traffic(10, ["general"], seed=3)


def test_given_bad_traffic_line_then_error_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "calls.jsonl"
    bad.write_text('{"at": 0, "skill": "orders"}\n{"at": "soon", "skill": "orders"}\n', encoding="utf-8")
    with pytest.raises(TrafficError, match=r"calls.jsonl:2: at: must be a number"):
        read_traffic(bad)


def test_given_bad_policy_file_then_cli_exits_2_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pol = tmp_path / "routing.yaml"
    pol.write_text("defaults: {wrap_up_s: -1}\n", encoding="utf-8")
    code = main(["routing", "simulate", "--generate", "5", "--policy", str(pol),
                 "--agents", str(CONFIG / "agents.yaml")])
    assert code == 2
    assert "defaults.wrap_up_s: must be between" in capsys.readouterr().err
