"""The sentiment model: its data, its held-out quality, foreign label names, the line protocol."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.jobs.queue import JobQueue
from callcenter.settings import QaSettings, Settings
from qa import dataset
from qa.cli import run_sentiment
from qa.sentiment import SentimentError, SentimentModel, map_labels
from qa.worker import QaWorker, model_scorer
from tests.qa.sentiment_fixtures import built_model
from tests.qa.test_worker import CARDS, LINES, a_transcribed_call, drain

__all__ = ["built_model"]
REPO = Path(__file__).resolve().parents[2]


def test_the_dataset_is_large_balanced_and_honestly_split() -> None:
    examples = dataset.load()
    assert len(examples) >= 600
    counts = {label: sum(e.label == label for e in examples) for label in dataset.LABELS}
    assert max(counts.values()) - min(counts.values()) <= 0.05 * len(examples) / 3
    texts = [e.text for e in examples if e.text == e.text.lower()]
    assert len(texts) >= len(examples) / 2  # the ASR style is there
    train, test = dataset.split(examples)
    assert not {e.text for e in train} & {e.text for e in test}
    assert not {e.group for e in train} & {e.group for e in test}
    assert 0.15 <= len(test) / len(examples) <= 0.25
    sources = [e.text for e in examples if e.text != dataset.asr_style(e.text)]
    assert len(sources) == len(set(sources)), "a line is written twice"


def test_the_built_model_scores_well_on_the_held_out_split(built_model: tuple[Path, dict[str, Any]]) -> None:
    _, metrics = built_model
    assert metrics["macro_f1"] >= 0.8 and metrics["accuracy"] >= 0.8
    assert metrics["held_out"] >= 100


def test_the_built_model_reads_new_call_center_lines(built_model: tuple[Path, dict[str, Any]]) -> None:
    model = SentimentModel.load(built_model[0])
    lines = ["the courier smashed my television and i am livid",
             "could you tell me the delivery date please",
             "thanks a million you sorted everything"]
    assert [p.label for p in model.predict(lines)] == ["negative", "neutral", "positive"]
    assert all(0.33 < p.score <= 1.0 for p in model.predict(lines))


@pytest.mark.parametrize(("names", "expected"), [
    ({0: "NEGATIVE", 1: "POSITIVE"}, {0: "negative", 1: "positive"}),
    ({0: "neg", 1: "neu", 2: "pos"}, {0: "negative", 1: "neutral", 2: "positive"}),
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {0: "negative", 1: "neutral", 2: "positive"}),
    ({i: f"{i + 1} star{'s' if i else ''}" for i in range(5)},
     {0: "negative", 1: "negative", 2: "neutral", 3: "positive", 4: "positive"}),
    ({0: "负面", 1: "正面"}, {0: "negative", 1: "positive"}),
])
def test_foreign_label_names_are_mapped(names: dict[int, str], expected: dict[int, str]) -> None:
    assert map_labels(names) == expected


def test_unmappable_labels_and_missing_models_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SentimentError, match="cannot map"):
        map_labels({0: "sports", 1: "politics"})
    with pytest.raises(SentimentError, match=r"config\.json missing"):
        SentimentModel.load(tmp_path)


def test_the_line_protocol(built_model: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out = io.StringIO()
    lines = "\n".join(["the refund never came", "", "my order number is 42", "wonderful thank you"] * 40)
    code = run_sentiment(argparse.Namespace(model=built_model[0]), Settings(state_dir=tmp_path),
                         io.StringIO(lines + "\n"), out)
    assert code == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 120  # empty lines skipped, the rest in order, across batches
    assert [r["label"] for r in rows[:3]] == ["negative", "neutral", "positive"]
    assert set(rows[0]) == {"text", "label", "score"} and rows[1]["text"] == "my order number is 42"


def test_the_command_refuses_input_that_is_not_utf8(built_model: tuple[Path, dict[str, Any]]) -> None:
    result = subprocess.run([sys.executable, "-m", "callcenter", "sentiment", "--model", str(built_model[0])],
                            input=b"fine thanks\n\xff\xfe broken\n", capture_output=True, cwd=REPO,
                            env={**os.environ}, timeout=120, check=False)
    assert result.returncode == 1 and b"not UTF-8" in result.stderr


async def test_the_qa_worker_with_the_real_model(built_model: tuple[Path, dict[str, Any]],
                                                 pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs, calls, utterances, qa_results, qa_overrides CASCADE")
    call_id = await a_transcribed_call(pool, "1700002000.1", LINES)
    worker = QaWorker(pool, JobQueue(pool), model_scorer(built_model[0]), CARDS, "real", str(built_model[0]))
    await drain(worker)
    labels = [r["sentiment"] for r in await pool.fetch(
        "SELECT sentiment FROM utterances WHERE call_id = $1 ORDER BY seq", call_id)]
    assert labels[1] == "negative" and labels[5] == "positive"
    result = await pool.fetchrow("SELECT total, flags FROM qa_results WHERE call_id = $1", call_id)
    assert result["total"] >= 80 and "customer_ended_negative" not in result["flags"]
    assert QaSettings().batch_size >= 1
