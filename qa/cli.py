"""``callcenter qa build-model`` and ``callcenter sentiment``."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from callcenter.settings import Settings

if TYPE_CHECKING:
    from qa.sentiment import SentimentModel

BATCH_LINES = 64


def add_parsers(sub: Any) -> None:
    qa = sub.add_parser("qa", help="QA tools")
    qa_sub = qa.add_subparsers(dest="qa_command", required=True)
    build = qa_sub.add_parser("build-model", help="build the default sentiment model and print its "
                                                  "held-out accuracy and macro-F1")
    build.add_argument("--out", type=Path, help="model directory (default: the settings' one)")
    build.add_argument("--epochs", type=int, default=6)
    sentiment = sub.add_parser("sentiment", help="one utterance a line on stdin, one JSON object a line out")
    sentiment.add_argument("--model", type=Path, help="a text-classification model directory")


def run_build(args: argparse.Namespace, settings: Settings) -> int:
    from qa.build import build_model
    from qa.sentiment import model_dir

    if not 1 <= args.epochs <= 50:
        print("callcenter qa build-model: --epochs must be between 1 and 50", file=sys.stderr)
        return 2
    metrics = build_model(args.out or model_dir(settings), epochs=args.epochs)
    print(json.dumps(metrics))
    return 0


def run_sentiment(args: argparse.Namespace, settings: Settings, stdin: TextIO | None = None,
                  stdout: TextIO | None = None) -> int:
    """Empty lines are skipped; output lines follow the input's order."""
    from qa.sentiment import SentimentError

    source = stdin if stdin is not None else io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8",
                                                             errors="strict")
    try:
        model = _load_model(args.model, settings)
    except SentimentError as exc:
        print(f"callcenter sentiment: {exc}", file=sys.stderr)
        return 1
    try:
        _label_lines(model, source, stdout or sys.stdout)
    except UnicodeDecodeError as exc:
        print(f"callcenter sentiment: input is not UTF-8 ({exc.reason} at byte {exc.start})", file=sys.stderr)
        return 1
    return 0


def _load_model(chosen: Path | None, settings: Settings) -> SentimentModel:
    """The ``--model`` directory, else the configured one (the default model is built if missing).

    Raises:
        SentimentError: the model does not load.
    """
    from qa.build import ensure_model
    from qa.sentiment import SentimentModel, model_dir

    directory = chosen or model_dir(settings)
    if chosen is None and not (directory / "config.json").is_file() \
            and not settings.qa.sentiment_model_dir:
        print("callcenter sentiment: building the default model first (about a minute)", file=sys.stderr)
        directory = ensure_model(settings)
    return SentimentModel.load(directory, batch_size=settings.qa.batch_size)


def _label_lines(model: SentimentModel, source: TextIO, sink: TextIO) -> None:
    """One JSON line out per non-empty line in, in batches of :data:`BATCH_LINES`; what was read
    before undecodable input is still labelled.

    Raises:
        UnicodeDecodeError: the input is not UTF-8.
    """
    batch: list[str] = []

    def flush() -> None:
        for text, prediction in zip(batch, model.predict(batch), strict=True):
            sink.write(json.dumps({"text": text, "label": prediction.label, "score": prediction.score},
                                  ensure_ascii=False) + "\n")
        sink.flush()
        batch.clear()

    try:
        for line in source:
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            batch.append(text)
            if len(batch) >= BATCH_LINES:
                flush()
    except UnicodeDecodeError:
        flush()
        raise
    if batch:
        flush()
