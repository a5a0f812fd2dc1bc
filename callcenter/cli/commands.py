"""One runner per ``callcenter`` sub-command: ``WITHOUT_SETTINGS`` run on their arguments alone,
``WITH_SETTINGS`` after the settings file was read and logging set up."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping

from callcenter.cli.users import run as run_users
from callcenter.routing import cli as routing_cli
from callcenter.settings import Settings, SettingsError
from callcenter.staffing import cli as staffing_cli
from ivr import cli as ivr_cli


def _replay(args: argparse.Namespace) -> int:
    from callcenter.server.replay import TranscriptError, replay_records

    try:
        records = replay_records(args.transcript)
    except (OSError, TranscriptError) as exc:
        print(f"callcenter replay: {exc}", file=sys.stderr)
        return 1
    for record in records:
        print(json.dumps(record, ensure_ascii=False))
    return 0


WITHOUT_SETTINGS: Mapping[str, Callable[[argparse.Namespace], int]] = {
    "replay": _replay,
    "ivr": ivr_cli.run,
    "staffing": staffing_cli.run,
    "routing": routing_cli.run,
}


def _serve(_: argparse.Namespace, settings: Settings) -> int:
    from callcenter.server.leadership import serve_with_standby

    try:
        return asyncio.run(serve_with_standby(settings))
    except SettingsError as exc:
        print(f"callcenter: bad settings: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_apply_migrations(settings))


async def _apply_migrations(settings: Settings) -> int:
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


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.demo.run import run_demo

    if not 0.1 <= args.speed <= 50:
        print("callcenter demo: --speed must be between 0.1 and 50", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_demo(settings, args.speed, args.port))
    except KeyboardInterrupt:
        return 0


def _loadtest(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.demo.loadtest import run_loadtest

    if args.calls < 1 or args.agents < 1 or not 0.1 <= args.speed <= 100:
        print("callcenter loadtest: need --calls >= 1, --agents >= 1, 0.1 <= --speed <= 100",
              file=sys.stderr)
        return 2
    result = asyncio.run(run_loadtest(settings, args.calls, args.agents, args.speed, args.window))
    print(json.dumps(result))
    return 0 if result["lost"] == 0 else 1


def worker_nice(kind: str, settings: Settings) -> int:
    """How much lower than the server's the CPU priority of a worker of ``kind`` is."""
    return {"asr": settings.asr.nice, "live": settings.live.nice}.get(kind, settings.qa.nice)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    # lowered before any model loads; the worker's own processes (decoding) inherit it
    os.nice(worker_nice(args.kind, settings))
    if args.kind == "asr":
        from asr.worker import run_worker

        return asyncio.run(run_worker(settings, metrics_port=args.metrics_port))
    if args.kind == "live":
        from asr.live_worker import run_live_worker

        return asyncio.run(run_live_worker(settings, metrics_port=args.metrics_port))
    from qa.worker import run_worker as run_qa_worker

    return asyncio.run(run_qa_worker(settings, metrics_port=args.metrics_port))


def _asr(args: argparse.Namespace, settings: Settings) -> int:
    from asr import cli as asr_cli

    return (asr_cli.run_transcribe if args.command == "transcribe" else asr_cli.run_models)(
        args, settings)


def _qa(args: argparse.Namespace, settings: Settings) -> int:
    from qa import cli as qa_cli

    return (qa_cli.run_build if args.command == "qa" else qa_cli.run_sentiment)(args, settings)


WITH_SETTINGS: Mapping[str, Callable[[argparse.Namespace, Settings], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "users": run_users,
    "transcribe": _asr,
    "models": _asr,
    "worker": _worker,
    "qa": _qa,
    "sentiment": _qa,
    "loadtest": _loadtest,
    "demo": _demo,
}
