"""``callcenter staffing``: agents needed per interval by Erlang C.

    callcenter staffing --calls-per-hour 240 --aht 180 --target 0.8 --within 20 \\
        [--shrinkage 0.3] [--max-occupancy 0.85]
    callcenter staffing --intervals forecast.csv --aht 180 --target 0.8 --within 20 \\
        [--interval-minutes 30]

The first form prints one JSON object ``{"agents", "service_level", "asa_s", "occupancy"}``
(plus ``"scheduled_agents"`` with ``--shrinkage``). The second reads a forecast, CSV with a
header row or JSON lines, of ``interval_start, calls`` and an optional per-row ``aht`` (seconds;
``--aht`` is the default), where ``calls`` are the calls arriving in one interval of
``--interval-minutes`` (default 30), and prints one JSON object per interval, one per line, each
also carrying ``interval_start`` and ``calls``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.staffing.erlang import Staffing, StaffingError, staff_interval


@dataclass(frozen=True)
class IntervalForecast:
    interval_start: str
    calls: float
    aht_s: float | None


class ForecastError(ValueError):
    """A forecast file that cannot be read."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``staffing`` to the ``callcenter`` command's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "staffing", help="agents needed for a call volume (Erlang C); prints JSON",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--calls-per-hour", type=float, help="arrivals per hour in the interval")
    source.add_argument("--intervals", type=Path, metavar="FILE",
                        help="forecast: .csv (header interval_start,calls[,aht]) or JSON lines")
    p.add_argument("--aht", type=float, help="average handling time, seconds (default for --intervals"
                                             " rows without aht)")
    p.add_argument("--target", type=float, required=True,
                   help="service level target, a fraction in (0, 1), e.g. 0.8")
    p.add_argument("--within", type=float, required=True,
                   help="target answer time in seconds, e.g. 20")
    p.add_argument("--shrinkage", type=float,
                   help="share of paid time off the phones, in [0, 1): adds scheduled_agents")
    p.add_argument("--max-occupancy", type=float,
                   help="cap on agent occupancy, in (0, 1], e.g. 0.85")
    p.add_argument("--interval-minutes", type=float, default=30.0,
                   help="length of one --intervals row (default 30)")
    return p


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool):
        raise ForecastError(f"{where}: {what} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ForecastError(f"{where}: {what} must be a number, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ForecastError(f"{where}: {what} must be a finite number >= 0, not {value!r}")
    return number


def _row(record: dict[str, Any], where: str) -> IntervalForecast:
    if "interval_start" not in record or "calls" not in record:
        raise ForecastError(f"{where}: needs interval_start and calls")
    aht = record.get("aht")
    return IntervalForecast(
        interval_start=str(record["interval_start"]).strip(),
        calls=_number(record["calls"], "calls", where),
        aht_s=None if aht in (None, "") else _number(aht, "aht", where),
    )


def read_forecast(path: Path) -> list[IntervalForecast]:
    """The rows of a forecast file: CSV with a header row, or JSON lines (one object a line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ForecastError(f"{path}: {exc.strerror or exc}") from None
    stripped = text.lstrip()
    rows: list[IntervalForecast] = []
    if stripped.startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ForecastError(f"{where}: bad JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise ForecastError(f"{where}: expected a JSON object")
            rows.append(_row(record, where))
        return rows
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None:
        return rows
    reader.fieldnames = [name.strip() for name in reader.fieldnames]
    for number, record in enumerate(reader, 2):
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue
        rows.append(_row(record, f"{path}:{number}"))
    return rows


def to_json(result: Staffing) -> dict[str, Any]:
    """The CLI's JSON object for one interval."""
    out: dict[str, Any] = {
        "agents": result.agents,
        "service_level": round(result.service_level, 4),
        "asa_s": round(result.asa_s, 2),
        "occupancy": round(result.occupancy, 4),
    }
    if result.scheduled_agents is not None:
        out["scheduled_agents"] = result.scheduled_agents
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``callcenter staffing``; returns the exit status (2 on bad input)."""
    try:
        if args.intervals is None:
            if args.aht is None:
                raise StaffingError("--aht is needed with --calls-per-hour")
            result = staff_interval(args.calls_per_hour, args.aht, args.target, args.within,
                                    args.shrinkage, args.max_occupancy)
            print(json.dumps(to_json(result)))
            return 0
        if not args.interval_minutes > 0:
            raise StaffingError("--interval-minutes must be > 0")
        per_hour = 60.0 / args.interval_minutes
        lines = []
        for row in read_forecast(args.intervals):
            aht = row.aht_s if row.aht_s is not None else args.aht
            if aht is None:
                raise StaffingError(f"interval {row.interval_start}: no aht in the file and no --aht")
            result = staff_interval(row.calls * per_hour, aht, args.target, args.within,
                                    args.shrinkage, args.max_occupancy)
            calls: float | int = int(row.calls) if row.calls.is_integer() else row.calls
            lines.append(json.dumps({"interval_start": row.interval_start, "calls": calls,
                                     **to_json(result)}))
    except (StaffingError, ForecastError) as exc:
        print(f"callcenter staffing: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0
