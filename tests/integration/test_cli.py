"""The ``callcenter`` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.amilab import TRANSCRIPTS

REPLAY_KEYS = {"linkedid", "caller_number", "caller_name", "state", "outcome", "agent_channel", "digits",
               "hangup_cause", "answered_at", "ended_at", "duration_s", "recordings"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "callcenter", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_replay_prints_one_json_object_per_call() -> None:
    result = run("replay", str(TRANSCRIPTS / "ivr_route_record.jsonl"))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    call = json.loads(line)
    assert set(call) >= REPLAY_KEYS
    assert call["outcome"] == "answered" and call["digits"] == "2"
    assert call["agent_channel"].startswith("Local/1001@sim-agent")
    assert len(call["recordings"]) == 3 and call["duration_s"] > 30


def test_replay_of_utf8_capture_keeps_the_name() -> None:
    result = run("replay", str(TRANSCRIPTS / "utf8_callerid.jsonl"))
    assert json.loads(result.stdout)["caller_name"] == "陈丽华（VIP）"


def test_replay_of_a_broken_file_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 0, "dir": "in", "frame": "Event: X\\r\\n\\r\\n"}\nnot json\n')
    result = run("replay", str(bad))
    assert result.returncode == 1 and "bad.jsonl:2" in result.stderr


def test_bad_setting_stops_start_up_naming_the_key() -> None:
    result = run("serve", env={"CALLCENTER_AMI_PORT": "eighty"})
    assert result.returncode == 2 and "ami.port" in result.stderr


def test_missing_secret_stops_serve_naming_the_key() -> None:
    env = {k: "" for k in ("CALLCENTER_AMI_SECRET",)}
    result = run("serve", env={**env, "DATABASE_URL": "postgresql://u:pw-xyz@127.0.0.1:1/db"})
    assert result.returncode == 2 and "ami.secret" in result.stderr
    assert "pw-xyz" not in result.stderr + result.stdout


@pytest.mark.parametrize("times", [1, 2])
def test_migrate_applies_then_does_nothing(db_url: str, times: int) -> None:
    result = run("migrate", env={"DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    applied = json.loads(result.stdout.splitlines()[-1])["applied"]
    from callcenter.store.migrate import load_migrations

    assert applied == ([m.version for m in load_migrations()] if times == 1 else [])
