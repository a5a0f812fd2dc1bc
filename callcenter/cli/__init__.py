"""The ``callcenter`` command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from callcenter.cli.commands import WITH_SETTINGS, WITHOUT_SETTINGS
from callcenter.cli.parser import make_parser
from callcenter.logsetup import configure_logging
from callcenter.settings import SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; returns the process exit code."""
    args = make_parser(__doc__).parse_args(argv)
    offline = WITHOUT_SETTINGS.get(args.command)
    if offline is not None:
        return offline(args)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"callcenter: bad settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log.level)
    run = WITH_SETTINGS.get(args.command)
    return run(args, settings) if run is not None else 2
