"""``callcenter models`` reports the configured speech model and whether it loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "callcenter", *args], cwd=REPO, text=True,
                          capture_output=True, env={**os.environ, **env}, timeout=120, check=False)


def test_the_packaged_model_is_listed_and_loads() -> None:
    result = run("models")
    assert result.returncode == 0, result.stderr
    [model] = json.loads(result.stdout)["models"]
    assert model["configured"] and model["exists"] and model["loads"] and model["language"] == "ko"


def test_a_missing_model_directory_is_reported_not_hidden(tmp_path: Path) -> None:
    result = run("models", CALLCENTER_ASR_MODEL_DIR=str(tmp_path / "nope"))
    assert result.returncode == 1
    models = json.loads(result.stdout)["models"]
    assert models[0]["configured"] and not models[0]["loads"] and "not found" in models[0]["error"]
    assert any(m["loads"] for m in models[1:])  # the packaged one still does


def test_the_worker_refuses_a_model_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    result = run("worker", "asr", CALLCENTER_ASR_MODEL_DIR=str(tmp_path / "broken"),
                 DATABASE_URL="postgresql://127.0.0.1:1/none")
    assert result.returncode == 2 and "could not load" in result.stderr
