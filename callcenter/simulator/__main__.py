"""``python -m callcenter.simulator --config sim.toml --scenario scenario.yaml``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from callcenter.simulator.config import ConfigError, SimulatorConfig, load_config
from callcenter.simulator.scenario import ScenarioError, load_scenario
from callcenter.simulator.server import PbxSimulator


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m callcenter.simulator",
                                     description="AMI-speaking PBX simulator (Asterisk 22)")
    parser.add_argument("--config", type=Path, help="simulator settings (TOML or YAML)")
    parser.add_argument("--scenario", type=Path, help="scripted callers and agents (YAML)")
    parser.add_argument("--port", type=int, help="override the AMI port (0 = any free port)")
    parser.add_argument("--time-scale", type=float, help="simulated seconds per real second")
    parser.add_argument("--exit-when-done", action="store_true",
                        help="stop once every scenario call has ended")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else SimulatorConfig()
    overrides = {k: v for k, v in (("port", args.port), ("time_scale", args.time_scale))
                 if v is not None}
    if overrides:
        config = dataclasses.replace(config, **overrides)
    scenario = load_scenario(args.scenario) if args.scenario else None
    simulator = PbxSimulator(config)
    port = await simulator.start()
    print(f"AMI listening on {config.host}:{port} (user {config.username}, "
          f"time scale {config.time_scale:g})", flush=True)
    try:
        if scenario is not None:
            await simulator.run_scenario(scenario)
            print("scenario finished", flush=True)
        if not args.exit_when_done:
            await asyncio.Event().wait()
    finally:
        await simulator.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (ConfigError, ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
