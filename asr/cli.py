"""``callcenter transcribe`` and ``callcenter models``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from asr.audio import AudioError
from asr.models import ModelError, list_models, model_dir
from asr.transcriber import load_model, merge
from asr.worker import decode_file
from callcenter.settings import Settings


def add_transcribe_parser(sub: Any) -> None:
    parser = sub.add_parser("transcribe", help="transcribe WAV files with vosk and print JSON")
    parser.add_argument("files", nargs="*", type=Path, help="*-customer.wav / *-agent.wav / any WAV")
    parser.add_argument("--model", type=Path, help="vosk model directory (default: settings)")
    parser.add_argument("--speaker", action="append", default=[], metavar="NAME=FILE",
                        help="label a file's speaker (repeatable)")


def add_models_parser(sub: Any) -> None:
    parser = sub.add_parser("models", help="list the configured speech models and whether they load")
    parser.add_argument("--no-load", action="store_true", help="do not try to load them")


def speaker_for(path: Path) -> str:
    stem = path.stem.lower()
    for name in ("customer", "agent", "mixed"):
        if stem.endswith("-" + name) or stem.endswith("_" + name):
            return name
    return path.stem


def tracks(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """(speaker, file) pairs from the positional files and ``--speaker NAME=FILE``.

    Raises:
        ValueError: a malformed ``--speaker`` or no file at all.
    """
    out = [(speaker_for(f), f) for f in args.files]
    for spec in args.speaker:
        name, sep, file = spec.partition("=")
        if not sep or not name or not file:
            raise ValueError(f"--speaker {spec!r}: expected NAME=FILE")
        out.append((name, Path(file)))
    if not out:
        raise ValueError("no file given")
    return out


def run_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    try:
        pairs = tracks(args)
        path = args.model or model_dir(settings)
        model = load_model(path)
        results = [decode_file(model, speaker, file)[0] for speaker, file in pairs]
    except (ValueError, ModelError, AudioError) as exc:
        print(f"callcenter transcribe: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"utterances": [u.to_json() for u in merge(results)]}, ensure_ascii=False))
    return 0


def run_models(args: argparse.Namespace, settings: Settings) -> int:
    models = list_models(settings, load=not args.no_load)
    print(json.dumps({"models": models}, ensure_ascii=False, indent=2))
    configured = models[0]
    return 0 if configured.get("exists") and configured.get("loads", True) else 1
