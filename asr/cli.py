"""``callcenter transcribe`` and ``callcenter models``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from asr.audio import AudioError
from asr.errors import ModelError
from asr.models import list_models, prepare
from asr.transcriber import merge
from asr.worker import decode_file
from callcenter.settings import Settings


def add_transcribe_parser(sub: Any) -> None:
    parser = sub.add_parser("transcribe", help="transcribe WAV files and print JSON")
    parser.add_argument("files", nargs="*", type=Path, help="*-customer.wav / *-agent.wav / any WAV")
    parser.add_argument("--language", default=None,
                        help="the speech's language (default: asr.default_language)")
    parser.add_argument("--model", default=None, metavar="ENGINE:MODEL",
                        help="e.g. whisper:base or vosk:/opt/vosk/model (default: the language's)")
    parser.add_argument("--speaker", action="append", default=[], metavar="NAME=FILE",
                        help="label a file's speaker (repeatable)")


def add_models_parser(sub: Any) -> None:
    parser = sub.add_parser("models",
                            help="each language's speech engine, model, checksum and whether it loads")
    parser.add_argument("--no-load", action="store_true", help="do not try to load them")
    actions = parser.add_subparsers(dest="models_action")
    prep = actions.add_parser("prepare", help="check and convert the built-in Whisper models into"
                                              " <state_dir>/models (once; progress on stderr)")
    prep.add_argument("--force", action="store_true", help="convert again even when done")


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
    from asr.engines import configured, load_engine, normalise_language, parse_spec

    try:
        pairs = tracks(args)
        engines = configured(settings)
        if args.model:  # the language as given, with the model as given
            language = normalise_language(args.language or engines.default_language)
            engine = load_engine(parse_spec(args.model), settings.state_dir, settings.asr.beam_size)
        else:
            language = engines.language_for(args.language or "")
            engine = engines.get(language)
        results = [decode_file(engine, speaker, file, language)[0] for speaker, file in pairs]
    except (ValueError, ModelError, AudioError) as exc:
        print(f"callcenter transcribe: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"utterances": [u.to_json() for u in merge(results)]}, ensure_ascii=False))
    return 0


def run_models(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "models_action", None) == "prepare":
        from asr.catalog import stderr_progress

        try:
            done = prepare(settings, force=args.force, progress=stderr_progress)
        except ModelError as exc:
            print(f"callcenter models prepare: {exc}", file=sys.stderr)
            return 1
        print(json.dumps({"prepared": done}))
        return 0
    models = list_models(settings, load=not args.no_load)
    print(json.dumps({"models": models}, ensure_ascii=False, indent=2))
    ok = all(m.get("exists") and m.get("loads", True) for m in models)
    return 0 if ok else 1
