"""``callcenter staffing``: the JSON it prints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from callcenter.staffing import cli


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="callcenter")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    status = cli.run(parser.parse_args(["staffing", *argv]))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_single_interval(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["--calls-per-hour", "240", "--aht", "180", "--target", "0.8",
                          "--within", "20"], capsys)
    assert status == 0
    assert json.loads(out) == {"agents": 16, "service_level": 0.8688, "asa_s": 9.21,
                               "occupancy": 0.75}


def test_single_interval_with_shrinkage_and_occupancy(capsys: pytest.CaptureFixture[str]) -> None:
    # the Call Centre Helper example: 100 calls / 30 min, AHT 180 s, 80/20, 30% shrinkage, 85% cap
    status, out, _ = run(["--calls-per-hour", "200", "--aht", "180", "--target", "0.8",
                          "--within", "20", "--shrinkage", "0.3", "--max-occupancy", "0.85"], capsys)
    assert status == 0
    assert json.loads(out) == {"agents": 14, "service_level": 0.8884, "asa_s": 7.84,
                               "occupancy": 0.7143, "scheduled_agents": 20}


def test_intervals_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forecast = tmp_path / "forecast.csv"
    forecast.write_text("interval_start,calls,aht\n"
                        "2026-03-02T09:00,100,\n"
                        "2026-03-02T09:30,360,240\n"
                        "2026-03-02T10:00,0,\n", encoding="utf-8")
    status, out, _ = run(["--intervals", str(forecast), "--aht", "180", "--target", "0.8",
                          "--within", "20"], capsys)
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["interval_start"], r["calls"], r["agents"]) for r in rows] == [
        ("2026-03-02T09:00", 100, 14), ("2026-03-02T09:30", 360, 54), ("2026-03-02T10:00", 0, 0)]
    assert rows[1] == {"interval_start": "2026-03-02T09:30", "calls": 360, "agents": 54,
                       "service_level": 0.8172, "asa_s": 12.05, "occupancy": 0.8889}


def test_intervals_json_lines_hourly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forecast = tmp_path / "forecast.jsonl"
    forecast.write_text('{"interval_start": "09:00", "calls": 200, "aht": 180}\n\n'
                        '{"interval_start": "10:00", "calls": 720, "aht": 240}\n', encoding="utf-8")
    status, out, _ = run(["--intervals", str(forecast), "--interval-minutes", "60", "--target", "0.8",
                          "--within", "20", "--shrinkage", "0.3"], capsys)
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["agents"], r["scheduled_agents"]) for r in rows] == [(14, 20), (54, 78)]


@pytest.mark.parametrize(("content", "message"), [
    ("interval_start,calls\n09:00,lots\n", "calls must be a number"),
    ("interval_start\n09:00\n", "needs interval_start and calls"),
    ('{"interval_start": "09:00", "calls": 3}\n', "no --aht"),
    ('{"interval_start": "09:00", "calls": \n', "bad JSON"),
])
def test_bad_forecast(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                      message: str) -> None:
    forecast = tmp_path / "f.txt"
    forecast.write_text(content, encoding="utf-8")
    status, out, err = run(["--intervals", str(forecast), "--target", "0.8", "--within", "20"], capsys)
    assert status == 2
    assert out == ""
    assert message in err


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["--calls-per-hour", "240", "--aht", "180", "--target", "1.5",
                          "--within", "20"], capsys)
    assert status == 2
    assert "target service level" in err
    status, _, err = run(["--calls-per-hour", "240", "--target", "0.8", "--within", "20"], capsys)
    assert status == 2
    assert "--aht" in err
    status, _, err = run(["--intervals", "/nonexistent/forecast.csv", "--aht", "180",
                          "--target", "0.8", "--within", "20"], capsys)
    assert status == 2
    assert "forecast.csv" in err
