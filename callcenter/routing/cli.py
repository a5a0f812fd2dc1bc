"""``callcenter routing simulate``: what-if replay of traffic through the real router.

    callcenter routing simulate --calls traffic.jsonl --policy config/routing.yaml \\
        --agents config/agents.yaml
    callcenter routing simulate --generate 2000 --seed 7 --duration-s 3600 --policy ... --agents ...

Prints the statistics as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from callcenter.agents.config import load_agents, load_skill_names
from callcenter.agents.errors import AgentConfigError
from callcenter.routing.errors import RoutingPolicyError
from callcenter.routing.policy import load_policy
from callcenter.routing.simulate import TrafficError, generate_traffic, read_traffic, simulate


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``routing`` (with ``simulate``) to the ``callcenter`` command's subparsers."""
    routing: argparse.ArgumentParser = subparsers.add_parser("routing",
                                                             help="skill-based routing tools")
    sub = routing.add_subparsers(dest="routing_command", required=True)
    sim = sub.add_parser("simulate", help="replay or generate traffic through the router; print"
                                          " statistics as JSON")
    source = sim.add_mutually_exclusive_group(required=True)
    source.add_argument("--calls", type=Path, help="arrivals: .csv (header row) or .jsonl")
    source.add_argument("--generate", type=int, metavar="N", help="generate N arrivals")
    sim.add_argument("--policy", type=Path, required=True, help="routing.yaml")
    sim.add_argument("--agents", type=Path, required=True, help="agents.yaml")
    sim.add_argument("--skills", type=Path, help="skills.yaml (check the skill names)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--duration-s", type=float, default=3600.0)
    sim.add_argument("--languages", default="en", help="comma-separated, for --generate")
    sim.add_argument("--no-agent-details", action="store_true",
                     help="leave the per-agent statistics out")
    return routing


def run(args: argparse.Namespace) -> int:
    """Run ``callcenter routing …``; returns the exit status."""
    if args.routing_command != "simulate":
        return 2
    try:
        skills = load_skill_names(args.skills) if args.skills else None
        policy = load_policy(args.policy, skills)
        agents = load_agents(args.agents, skills)
        if args.calls is not None:
            traffic = read_traffic(args.calls)
        else:
            names = sorted(policy.skills) or sorted({s for a in agents for s in a.skills})
            traffic = generate_traffic(args.generate, names, seed=args.seed,
                                       duration_s=args.duration_s,
                                       languages=[x.strip() for x in args.languages.split(",")])
    except (RoutingPolicyError, AgentConfigError, TrafficError) as exc:
        print(f"callcenter routing simulate: {exc}", file=sys.stderr)
        return 2
    stats = simulate(traffic, policy, agents).to_json()
    if args.no_agent_details:
        stats.pop("agent_details", None)
    stats["calls"] = len(traffic)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="callcenter")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
