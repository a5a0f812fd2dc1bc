"""``callcenter ivr validate FILE…``: check flow files (and the prompt catalogue) before deploying.

Exit status 0 when no file has an error (warnings are printed but pass, unless ``--strict``),
1 when some file has errors, 2 for bad arguments (an unreadable skills file). Each problem is
one line: ``FILE: node 'N': field 'F': error: what is wrong``.

Wiring: ``callcenter/cli.py`` calls :func:`add_parser` with its subparsers and :func:`run` when
the command is ``ivr``; ``python -m ivr.cli validate …`` works on its own too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ivr.sounds import SoundIndex, default_sound_dirs
from ivr.validate import Checks, as_json, error_count, load_skills, validate_paths


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``ivr`` (with ``validate``) to a ``add_subparsers()`` object; returns the ``ivr`` parser."""
    ivr: argparse.ArgumentParser = subparsers.add_parser("ivr", help="IVR flows: validate them")
    commands = ivr.add_subparsers(dest="ivr_command", required=True)
    validate = commands.add_parser(
        "validate", help="check IVR flow files: graph, prompts, skills, inputs",
        description="Check IVR flow files; names each problem with file, node and field.")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument("--skills", type=Path, default=None,
                          help="skills list (default: skills.yaml beside the flows' folder, "
                               "e.g. config/skills.yaml for config/ivr/*.yaml)")
    validate.add_argument("--sounds", type=Path, action="append", default=None, metavar="DIR",
                          help="Asterisk sound directory to look prompts up in (repeatable; default: "
                               "asterisk-conf/sounds and the system's Asterisk sound folders)")
    validate.add_argument("--no-sounds", action="store_true", help="skip the prompt check")
    validate.add_argument("--strict", action="store_true", help="warnings fail too")
    validate.add_argument("--json", action="store_true", help="one JSON list of problems on stdout")
    return ivr


def run(args: argparse.Namespace) -> int:
    """Run the ``ivr`` command parsed by :func:`add_parser`'s parser; returns the exit status."""
    if args.ivr_command != "validate":
        return 2
    try:
        skills = _skills(args.skills, args.files)
    except ValueError as exc:
        print(f"callcenter ivr validate: {exc}", file=sys.stderr)
        return 2
    sounds = None if args.no_sounds else SoundIndex.scan(args.sounds or default_sound_dirs())
    results = validate_paths(args.files, Checks(sounds=sounds, skills=skills))
    errors = error_count(results)
    warnings = sum(1 for problems in results.values() for p in problems if not p.is_error)
    if args.json:
        print(json.dumps(as_json(results), ensure_ascii=False, indent=2))
    else:
        for problems in results.values():
            for problem in problems:
                print(problem)
        verdict = "ok" if errors == 0 else "FAILED"
        print(f"{verdict}: {len(results)} file(s), {errors} error(s), {warnings} warning(s)",
              file=sys.stderr)
    if errors or (args.strict and warnings):
        return 1
    return 0


def _skills(explicit: Path | None, files: Sequence[Path]) -> frozenset[str] | None:
    if explicit is not None:
        return load_skills(explicit)
    for path in files:
        candidate = path.resolve().parent.parent / "skills.yaml"
        if candidate.is_file():
            return load_skills(candidate)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="callcenter")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["ivr", *(argv if argv is not None else sys.argv[1:])]))


if __name__ == "__main__":
    sys.exit(main())
