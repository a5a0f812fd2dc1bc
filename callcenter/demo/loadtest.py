"""``callcenter loadtest --calls N --agents M --speed X``: the real server under simulated load.

The PBX simulator runs in its own process (so the server's CPU and memory are measured alone)
with N callers of the demo shop arriving over a window and M agents' phones; the server runs in
this process with M agents logged in and ready. When every call is over, the stored outcomes
are counted and one JSON object is printed:

``{"calls_offered", "answered", "abandoned", "failed", "ivr_only", "lost", "stuck_agents",
"peak_live_calls", "route_latency_ms": {"p50", "p95", "p99", "max"}, "server_cpu_pct",
"server_peak_rss_mb", "sim_seconds", "wall_seconds"}``

``lost`` counts placed calls with no stored outcome (it must be 0); route latency is the time
the router and the offer adapter take from a call's hand-over to the decision to ring a ready
agent (queueing for a busy team is not latency).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import random
import resource
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callcenter.agents.model import AgentState
from callcenter.clock import clock_for
from callcenter.demo.data import generate, phone_for
from callcenter.demo.run import REPO, STOCK_SOUNDS
from callcenter.demo.seed import seed_shop
from callcenter.demo.setup import MENU_AT_S, prepare_config
from callcenter.demo.voices import ensure_voices
from callcenter.routing import events as ev
from callcenter.routing.decisions import Offer
from callcenter.server.build import build_server
from callcenter.settings import RecordingSettings, Secret, Settings
from callcenter.store.db import Database, open_database
from callcenter.store.migrate import migrate

SKILL_DIGITS = [("22", "refunds"), ("21", "returns"), ("31", "delivery"), ("4", "complaints"),
                ("0", "general")]
START_DELAY_REAL_S = 3.0  # the server connects before the first caller arrives


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def agents_yaml(count: int) -> dict[str, Any]:
    skills = ["refunds", "returns", "delivery", "complaints", "orders"]
    agents = []
    for n in range(count):
        own = {"general": 2 + n % 3, skills[n % 5]: 3 + n % 3, skills[(n + 2) % 5]: 2}
        agents.append({"login": f"load{n + 1:04d}", "name": f"Load Agent {n + 1}",
                       "dial_string": f"PJSIP/{5000 + n}", "languages": ["en", "zh"],
                       "skills": own})
    return {"agents": agents}


def scenario_yaml(calls: int, agents: int, window_s: float, offset_s: float, audio: dict[str, Path],
                  seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    data = generate()
    callers = []
    for i in range(calls):
        index = i % len(data.customers) + 1
        lang = data.customers[index - 1][5]
        digits, _ = rng.choice(SKILL_DIGITS)
        at = MENU_AT_S.get(lang, 4.5)
        presses = [{"after_s": at, "digits": digits[0]}]
        if len(digits) > 1:
            presses.append({"after_s": at + 3.0, "digits": digits[1]})
        callers.append({"number": phone_for(index), "language": lang,
                        "arrival": {"at_s": [round(offset_s + rng.uniform(0, window_s), 2)]},
                        "presses": presses, "patience_s": rng.choice([60, 120, 240, 600]),
                        "talk": [{"after_s": 6.0, "audio": str(audio["customer-refund-en"].resolve())}]})
    phones = []
    for n in range(agents):
        phone: dict[str, Any] = {"extension": str(5000 + n)}
        if n % 20 == 19:
            phone["never_answers"] = True
        else:
            phone.update({"answer_after_s": 1.0 + n % 3, "hangup_after_s": 25.0 + (n * 7) % 35,
                          "says": [{"after_s": 0.5, "audio": str(audio["agent-greet-en"].resolve())}]})
        phones.append(phone)
    return {"name": "loadtest", "callers": callers, "agents": phones}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_loadtest(settings: Settings, calls: int, agents: int, speed: float,
                       window_s: float | None = None, *, record: bool = True) -> dict[str, Any]:
    """Run the load and return the counts. ``record=False`` leaves MixMonitor out (a long,
    large run would otherwise write gigabytes of WAVs the measurement does not need)."""
    work = Path(tempfile.mkdtemp(prefix="cc-load-"))
    try:
        return await _run(settings, calls, agents, speed, window_s, work, record)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class _Served:
    """What was measured while the server carried the load."""

    latencies: list[float] = field(default_factory=list)  # route latency of each call, ms
    peak: int = 0  # the most calls up at once
    stuck: int = 0  # agents still offered or talking once every call is over
    sim_seconds: float = 0.0


async def _run(settings: Settings, calls: int, agents: int, speed: float, window_s: float | None,
               work: Path, record: bool) -> dict[str, Any]:
    config, scenario = await _write_inputs(settings, calls, agents, speed, window_s, work)
    port, secret, recordings = _free_port(), Secret("load-" + str(time.time_ns())), work / "recordings"
    sim = await _start_simulator(work, scenario, port, secret, speed, recordings)
    server_settings = dataclasses.replace(
        settings, config_dir=config,
        ami=dataclasses.replace(settings.ami, host="127.0.0.1", port=port, secret=secret,
                                reconnect_min_s=0.1, reconnect_max_s=0.5),
        http=dataclasses.replace(settings.http, port=0),
        recording=RecordingSettings(enabled=record, local_dir=str(recordings), grace_s=1.0),
        live=dataclasses.replace(settings.live, enabled=False))  # call control under load, not speech
    database = await open_database(settings.database, settings.state_dir)
    started_wall, started_cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
    try:
        await migrate(database.pool)
        await seed_shop(database.pool)
        served = await _serve(server_settings, database, speed, sim)
        wall = time.monotonic() - started_wall
        usage = resource.getrusage(resource.RUSAGE_SELF)
        rows = await database.pool.fetch(
            "SELECT outcome, count(*) AS n FROM calls WHERE caller_channel LIKE 'PJSIP/pstn-%'"
            " GROUP BY outcome")
    finally:
        if sim.returncode is None:
            sim.kill()
            await sim.wait()
        await database.close()
    cpu = (usage.ru_utime - started_cpu.ru_utime) + (usage.ru_stime - started_cpu.ru_stime)
    report = _report(calls, {r["outcome"]: r["n"] for r in rows}, served)
    report.update(server_cpu_pct=round(100 * cpu / wall, 1) if wall else 0.0,
                  server_peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
                  sim_seconds=round(served.sim_seconds, 1), wall_seconds=round(wall, 1))
    return report


async def _write_inputs(settings: Settings, calls: int, agents: int, speed: float,
                        window_s: float | None, work: Path) -> tuple[Path, Path]:
    """The server's configuration (with ``agents`` load agents) and the simulator's scenario."""
    config = prepare_config(settings.config_dir, work / "config")
    (config / "agents.yaml").write_text(yaml.safe_dump(agents_yaml(agents)), encoding="utf-8")
    voices = await asyncio.to_thread(ensure_voices, settings.state_dir / "voices")
    window = window_s if window_s is not None else max(60.0, calls * 60.0 / max(1.0, agents * 1.2))
    scenario = work / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(scenario_yaml(calls, agents, window, START_DELAY_REAL_S * speed,
                                                     voices)), encoding="utf-8")
    return config, scenario


async def _start_simulator(work: Path, scenario: Path, port: int, secret: Secret, speed: float,
                           recordings: Path) -> asyncio.subprocess.Process:
    """The simulator in its own process; it exits once every call of the scenario is over."""
    sim_config = work / "simulator.toml"
    sounds = json.dumps([str(REPO / "asterisk-conf" / "sounds"), *map(str, STOCK_SOUNDS)])
    sim_config.write_text(
        f'[simulator]\nhost = "127.0.0.1"\nport = {port}\nsecret = "{secret.reveal()}"\n'
        f'time_scale = {speed:g}\nsound_dirs = {sounds}\nrecording_dir = "{recordings}"\n',
        encoding="utf-8")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.simulator", "--config", str(sim_config), "--scenario",
        str(scenario), "--exit-when-done", stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)


async def _serve(server_settings: Settings, database: Database, speed: float,
                 sim: asyncio.subprocess.Process) -> _Served:
    """The server with every agent ready, until the simulator exits and the calls are over."""
    served = _Served()
    clock = clock_for(speed)
    sim_start = clock.now()
    async with build_server(server_settings, database, clock) as server:
        _measure_routing(server.engine, served.latencies)
        for agent in server.agents.statuses():
            server.agents.login(agent.agent_id, ready=True)
        sampler = asyncio.create_task(_sample_peak(server.tracker.live_calls, served))
        await sim.wait()
        sampler.cancel()
        await _wait_calls_over(server.tracker.live_calls, 60.0)
        await server.clock.sleep(10.0)
        await server.recorder.flush()
        served.stuck = sum(1 for s in server.agents.statuses()
                           if s.state in (AgentState.OFFERED, AgentState.TALKING))
        served.sim_seconds = clock.now() - sim_start
    return served


def _report(calls: int, counts: dict[str | None, int], served: _Served) -> dict[str, Any]:
    stored = sum(n for outcome, n in counts.items() if outcome is not None)
    latencies = served.latencies
    return {
        "calls_offered": calls, "answered": counts.get("answered", 0),
        "abandoned": counts.get("abandoned", 0), "failed": counts.get("failed", 0),
        "ivr_only": counts.get("ivr_hangup", 0), "lost": max(0, calls - stored),
        "stuck_agents": served.stuck, "peak_live_calls": served.peak,
        "route_latency_ms": {"p50": round(percentile(latencies, 50), 3),
                             "p95": round(percentile(latencies, 95), 3),
                             "p99": round(percentile(latencies, 99), 3),
                             "max": round(max(latencies, default=0.0), 3)},
    }


async def _sample_peak(live: Any, served: _Served) -> None:
    """Track the most calls up at once (sampled every 0.2 s of real time)."""
    while True:
        served.peak = max(served.peak, len(live()))
        await asyncio.sleep(0.2)


async def _wait_calls_over(live: Any, timeout_s: float) -> None:
    """Calls still up after the simulator exits are being torn down; give them ``timeout_s``
    (whatever is left then counts as lost)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not live():
            return
        await asyncio.sleep(0.2)


def _measure_routing(engine: Any, latencies: list[float]) -> None:
    """Time each hand-over whose offer is decided at once (an agent was ready)."""
    submit = engine.submit
    pending: dict[str, float] = {}

    def timed_submit(event: Any) -> None:
        if isinstance(event, ev.CallEnqueued):
            pending[event.call.call_id] = time.perf_counter()
        submit(event)
        if isinstance(event, ev.CallEnqueued):
            pending.pop(event.call.call_id, None)

    def sink(decisions: list[Any]) -> None:
        for decision in decisions:
            if isinstance(decision, Offer) and decision.call_id in pending:
                latencies.append((time.perf_counter() - pending.pop(decision.call_id)) * 1000)

    engine.add_sink(sink)
    engine.submit = timed_submit
