"""The server under contact-center load: about 300 calls up at once and 150 agents, for 30
simulated minutes, with the PBX simulator in its own process.

    python benchmarks/load.py [--agents 150] [--minutes 30] [--rate 3.5] [--speed 10] [--record]

Callers arrive evenly over the window at ``--rate`` calls per simulated second (3.2/s against
150 agents who talk 25-60 s keeps about 300 calls in the IVR, the queue or talking), go
through the IVR, wait (abandoning after 60-600 s), talk, and hang up; one agent in twenty never
answers. Recording is off unless ``--record`` (thousands of calls would write gigabytes of WAVs).
Runs against the embedded PostgreSQL unless DATABASE_URL is set (the database must be empty or
a scratch one: the shop is seeded into it).

Prints JSON: {"calls", "answered", "abandoned", "lost", "stuck_agents", "route_p99_ms",
"server_rss_mb", "server_cpu_pct", "peak_live_calls", "sim_seconds", "wall_seconds"}.
Goals: lost 0, stuck_agents 0, server_rss_mb <= 300.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callcenter.demo.loadtest import run_loadtest
from callcenter.logsetup import configure_logging
from callcenter.settings.loader import load_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=3.2, help="calls per simulated second")
    parser.add_argument("--speed", type=float, default=10.0, help="simulated seconds per real second")
    parser.add_argument("--record", action="store_true", help="record every call (MixMonitor)")
    args = parser.parse_args()
    configure_logging("error")
    repo = Path(__file__).resolve().parents[1]
    settings = load_settings(None)
    state = Path(tempfile.mkdtemp(prefix="cc-bench-load-"))
    settings = dataclasses.replace(settings, state_dir=state, config_dir=repo / "config")
    window = args.minutes * 60.0
    calls = max(1, round(args.rate * window))
    result = asyncio.run(run_loadtest(settings, calls, args.agents, args.speed, window,
                                      record=args.record))
    print(json.dumps({
        "calls": result["calls_offered"], "answered": result["answered"],
        "abandoned": result["abandoned"], "lost": result["lost"],
        "stuck_agents": result["stuck_agents"], "route_p99_ms": result["route_latency_ms"]["p99"],
        "server_rss_mb": result["server_peak_rss_mb"], "server_cpu_pct": result["server_cpu_pct"],
        "peak_live_calls": result["peak_live_calls"], "sim_seconds": result["sim_seconds"],
        "wall_seconds": result["wall_seconds"],
    }))
    return 0 if result["lost"] == 0 and result["stuck_agents"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
