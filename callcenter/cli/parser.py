"""The ``callcenter`` command line: every sub-command and its options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from asr import cli as asr_cli
from callcenter.cli.users import add_parser as add_users_parser
from callcenter.routing import cli as routing_cli
from callcenter.staffing import cli as staffing_cli
from ivr import cli as ivr_cli
from qa import cli as qa_cli

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def make_parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=description)
    parser.add_argument("--config", type=Path, help="settings file (TOML)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="connect to Asterisk, track calls, serve HTTP")
    sub.add_parser("migrate", help="apply database migrations")
    _add_demo_parser(sub)
    ivr_cli.add_parser(sub)
    routing_cli.add_parser(sub)
    staffing_cli.add_parser(sub)
    asr_cli.add_transcribe_parser(sub)
    asr_cli.add_models_parser(sub)
    qa_cli.add_parsers(sub)
    worker = sub.add_parser("worker", help="run a background worker (speech-to-text, QA, or live speech)")
    worker.add_argument("kind", choices=("asr", "qa", "live"))
    worker.add_argument("--metrics-port", type=int, help="serve /metrics on 127.0.0.1:PORT")
    _add_loadtest_parser(sub)
    replay = sub.add_parser("replay", help="replay an AMI capture and print one JSON line per call")
    replay.add_argument("transcript", type=Path)
    add_users_parser(sub)
    _config_anywhere(sub)
    return parser


def _add_demo_parser(sub: SubParsers) -> None:
    demo = sub.add_parser("demo", help="run the whole product with the PBX simulator and demo data")
    demo.add_argument("--speed", type=float, default=1.0,
                      help="simulated seconds per real second (default 1)")
    demo.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")


def _add_loadtest_parser(sub: SubParsers) -> None:
    load = sub.add_parser("loadtest", help="drive the server with the PBX simulator and print JSON")
    load.add_argument("--calls", type=int, required=True)
    load.add_argument("--agents", type=int, required=True)
    load.add_argument("--speed", type=float, default=10.0)
    load.add_argument("--window", type=float, help="simulated seconds over which calls arrive")


def _config_anywhere(sub: SubParsers) -> None:
    """``--config`` is accepted after the sub-command too (``callcenter serve --config F``)."""
    for command in sub.choices.values():
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            for inner in nested:
                _config_anywhere(inner)
        elif not any("--config" in a.option_strings for a in command._actions):
            command.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                                 help="settings file (TOML); also accepted before the sub-command")
