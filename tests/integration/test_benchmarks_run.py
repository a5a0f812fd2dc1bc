"""The quick benchmarks run to their end on small inputs and print one JSON line: a benchmark
that imports but no longer runs (a product API it calls changed) fails here, not when someone
next measures. The goals themselves are measured by running them in full (README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout[-2000:]
    result: dict[str, Any] = json.loads(lines[-1])  # one JSON line, not an indented document
    return result


@pytest.mark.parametrize(("script", "args", "keys"), [
    ("routing.py", ("--events", "300"), {"p99_us", "speedup"}),
    ("live_segmenter.py", ("--seconds", "10"), {"ratio"}),
    ("asr_follow_io.py", ("--minutes", "0.5"), {"ratio_total", "same_segments", "reused_after_call"}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_quick_benchmark_runs_and_prints_one_json_line(script: str, args: tuple[str, ...],
                                                          keys: set[str]) -> None:
    assert keys <= set(run(script, *args))


def test_the_ami_ingest_benchmark_runs_the_servers_pipeline(pg_server_url: str) -> None:
    result = run("ami_ingest.py", "--copies", "2", "--database-url", pg_server_url)
    assert result["stored_events"] > 0 and result["ratio"] > 0


def test_the_knowledge_base_benchmark_runs(pg_server_url: str) -> None:
    assert run("kb_search.py", "--database-url", pg_server_url)
