"""The ``callcenter`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from callcenter.settings import Settings, SettingsError
from callcenter.settings.loader import load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    parser.add_argument("--config", type=Path, help="settings file (TOML)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("serve", help="connect to Asterisk, track calls, serve HTTP")
    sub.add_parser("migrate", help="apply database migrations")

    demo = sub.add_parser("demo", help="run the whole product with the PBX simulator and demo data")
    demo.add_argument("--speed", type=float, default=1.0,
                      help="simulated seconds per real second (default 1)")
    demo.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")

    from ivr.cli import add_parser as add_ivr_parser

    add_ivr_parser(sub)

    from callcenter.routing import cli as routing_cli

    routing_cli.add_parser(sub)

    from callcenter.staffing import cli as staffing_cli

    staffing_cli.add_parser(sub)

    from asr import cli as asr_cli

    asr_cli.add_transcribe_parser(sub)
    asr_cli.add_models_parser(sub)
    from qa import cli as qa_cli

    qa_cli.add_parsers(sub)
    worker = sub.add_parser("worker", help="run a background worker (speech-to-text or QA)")
    worker.add_argument("kind", choices=("asr", "qa"))
    worker.add_argument("--metrics-port", type=int, help="serve /metrics on 127.0.0.1:PORT")

    load = sub.add_parser("loadtest", help="drive the server with the PBX simulator and print JSON")
    load.add_argument("--calls", type=int, required=True)
    load.add_argument("--agents", type=int, required=True)
    load.add_argument("--speed", type=float, default=10.0)
    load.add_argument("--window", type=float, help="simulated seconds over which calls arrive")

    replay = sub.add_parser("replay", help="replay an AMI capture and print one JSON line per call")
    replay.add_argument("transcript", type=Path)

    from callcenter import users_cli

    users_cli.add_parser(sub)
    _config_anywhere(sub)
    return parser


def _config_anywhere(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``--config`` is accepted after the sub-command too (``callcenter serve --config F``)."""
    for command in sub.choices.values():
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            for inner in nested:
                _config_anywhere(inner)
        elif not any("--config" in a.option_strings for a in command._actions):
            command.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                                 help="settings file (TOML); also accepted before the sub-command")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "replay":
        return _replay(args.transcript)
    if args.command == "ivr":
        from ivr.cli import run as run_ivr

        return run_ivr(args)
    if args.command == "staffing":
        from callcenter.staffing import cli as staffing_cli

        return staffing_cli.run(args)
    if args.command == "routing":
        from callcenter.routing import cli as routing_cli

        return routing_cli.run(args)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"callcenter: bad settings: {exc}", file=sys.stderr)
        return 2
    from callcenter.logsetup import configure_logging

    configure_logging(settings.log.level)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "users":
        from callcenter import users_cli

        return users_cli.run(args, settings)
    if args.command in ("transcribe", "models"):
        from asr import cli as asr_cli

        return (asr_cli.run_transcribe if args.command == "transcribe" else asr_cli.run_models)(
            args, settings)
    if args.command == "worker":
        return _worker(args, settings)
    if args.command in ("qa", "sentiment"):
        from qa import cli as qa_cli

        return (qa_cli.run_build if args.command == "qa" else qa_cli.run_sentiment)(args, settings)
    if args.command == "loadtest":
        from callcenter.demo.loadtest import run_loadtest

        if args.calls < 1 or args.agents < 1 or not 0.1 <= args.speed <= 100:
            print("callcenter loadtest: need --calls >= 1, --agents >= 1, 0.1 <= --speed <= 100",
                  file=sys.stderr)
            return 2
        result = asyncio.run(run_loadtest(settings, args.calls, args.agents, args.speed, args.window))
        print(json.dumps(result))
        return 0 if result["lost"] == 0 else 1
    if args.command == "demo":
        from callcenter.demo.run import run_demo

        if not 0.1 <= args.speed <= 50:
            print("callcenter demo: --speed must be between 0.1 and 50", file=sys.stderr)
            return 2
        try:
            return asyncio.run(run_demo(settings, args.speed, args.port))
        except KeyboardInterrupt:
            return 0
    if args.command == "serve":
        from callcenter.leadership import serve_with_standby

        try:
            return asyncio.run(serve_with_standby(settings))
        except SettingsError as exc:
            print(f"callcenter: bad settings: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 0
    return 2


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if args.kind == "asr":
        from asr.worker import run_worker

        return asyncio.run(run_worker(settings, metrics_port=args.metrics_port))
    from qa.worker import run_worker as run_qa_worker

    return asyncio.run(run_qa_worker(settings, metrics_port=args.metrics_port))


def _replay(path: Path) -> int:
    from callcenter.replay import TranscriptError, replay_records

    try:
        records = replay_records(path)
    except (OSError, TranscriptError) as exc:
        print(f"callcenter replay: {exc}", file=sys.stderr)
        return 1
    for record in records:
        print(json.dumps(record, ensure_ascii=False))
    return 0


async def _migrate(settings: Settings) -> int:
    from callcenter.store.db import open_database
    from callcenter.store.errors import DatabaseUnavailable
    from callcenter.store.migrate import migrate

    try:
        database = await open_database(settings.database, settings.state_dir)
    except DatabaseUnavailable as exc:
        print(f"callcenter migrate: {exc}", file=sys.stderr)
        return 1
    try:
        applied = await migrate(database.pool)
    finally:
        await database.close()
    print(json.dumps({"applied": applied}))
    return 0
