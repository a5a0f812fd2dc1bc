"""Live speech capacity on the real Asterisk 22: N concurrent calls transcribed as they happen.

N callers dial in through the carrier's address, go through the shipped IVR and are routed to N
agents; each caller's pjsua phone plays the lab's recorded customer sentence in a loop (each
agent's, with ``--agent-speech``, the agent's). The server spies on both legs
(ChanSpy → AudioSocket), cuts utterances, the live ASR workers (``--workers`` processes of
``callcenter worker live``) transcribe them, and each utterance is pushed to its agent's
``/ws/agent``. For ``--seconds`` of talk it measures:

- **lag**: end of speech → the utterance on the agent's socket (the benchmark's receive time
  minus the utterance's ``speech_end_at``, the instant its last speech frame reached the
  server; Asterisk's spy-to-server delay, ~0.05 s, comes before that: ``live_route.py``);
- **CPU per live call**: CPU seconds per second of the server, the live workers and Asterisk
  over the window, divided by N (and each part on its own).

Goal on a 2-core machine: 4 concurrent live calls with p95 lag ≤ 2 s. Prints one JSON object.

    .venv/bin/python benchmarks/live.py [--calls 4] [--workers 2] [--seconds 60] [--agent-speech]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pbx.bench import ADMIN_HELP, ADMIN_URL, run_benchmark, scratch
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, through_menus
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig
from tests.pbx.server import Process

MENU = [("choose-language", "1"), ("main-menu", "0")]


def progress(message: str) -> None:
    print(f"live: {message}", file=sys.stderr, flush=True)


def cpu_s(pid: int) -> float:
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else -1.0


async def listen(rig: Rig, login: str, got: list[tuple[float, dict[str, Any]]]) -> None:
    web = await rig.web(login)
    try:
        async with web.session.ws_connect(rig.deployment.url.replace("http", "ws") + "/ws/agent",
                                          headers={"Origin": rig.deployment.url}) as ws:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(message.data)
                    if data.get("type") == "live_utterance" and data.get("kind") == "speech":
                        got.append((time.time(), data))
    finally:
        await web.close()


async def talk(rig: Rig, workers: list[Process], agents: list[Agent], seconds: float, agent_speech: bool
               ) -> tuple[list[tuple[float, dict[str, Any]]], dict[str, float], float]:
    ami = await rig.ami()
    got: list[tuple[float, dict[str, Any]]] = []
    listeners = [asyncio.create_task(listen(rig, a.login, got)) for a in agents]
    try:
        for agent in agents:
            rig.agent_phone(agent.login, mode="answer", talk_s=seconds + 60,
                            play=LAB_RECORDINGS / "agent-resolve.wav" if agent_speech else None)
        for agent in agents:
            await rig.wait_registered(agent.extension)
        await rig.ready(*[a.login for a in agents])

        async def one(n: int) -> None:
            number = f"+86139455{n:05d}"
            since = time.time()
            phone = rig.caller(number, play=LAB_RECORDINGS / "customer-refund.wav")
            channel = await caller_channel(ami, number, since)
            await through_menus(ami, phone, channel, MENU, since)
            await phone.wait_state("CONFIRMED", 60)

        await asyncio.gather(*(one(n) for n in range(len(agents))))
        progress(f"{len(agents)} calls connected; measuring {seconds:.0f} s")
        await asyncio.sleep(5.0)  # the first utterances start
        pids = parts(rig, workers)
        before = {name: cpu_s(pid) for name, pid in pids.items()}
        started, mark = time.monotonic(), time.time()
        await asyncio.sleep(seconds)
        window = time.monotonic() - started
        cpu = {name: (cpu_s(pid) - before[name]) / window for name, pid in pids.items()}
        return [(at, u) for at, u in got if at >= mark], cpu, window
    finally:
        for task in listeners:
            task.cancel()
        await ami.close()
        rig.stop_phones()


def parts(rig: Rig, workers: list[Process]) -> dict[str, int]:
    running = {"server": rig.deployment.server.process,
               **{f"live_worker_{n}": w.process for n, w in enumerate(workers)}}
    found = {"asterisk": rig.pbx.pid}
    for name, process in running.items():
        assert process is not None, f"the {name} runs"
        found[name] = process.pid
    return found


async def run(bundle: Bundle, db_url: str, work: Path, calls: int, workers: int, seconds: float,
              agent_speech: bool) -> dict[str, object]:
    agents = [Agent(f"live{n}", str(1300 + n), {"general": 5}) for n in range(1, calls + 1)]
    with running_rig(bundle, work, db_url, agents, survey=False, live=True) as rig:
        deployment = rig.deployment
        common = ["--config", str(deployment.settings)]
        processes = [Process(f"live{n}", [*common, "worker", "live"], deployment.env, work / f"worker-live{n}.log")
                     for n in range(workers)]
        try:
            for process in processes:  # one after the other: the first prepares the model files
                process.start()
                await wait_workers([process])
            got, cpu, window = await talk(rig, processes, agents, seconds, agent_speech)
            queue = {**await queue_stats(db_url), **decode_stats(processes)}
        finally:
            for process in processes:
                process.stop()
    lags = [at - float(u["speech_end_at"]) for at, u in got if u.get("speech_end_at")]
    total = sum(cpu.values())
    return {"benchmark": "live", "calls": calls, "workers": workers, "window_s": round(window, 1),
            "utterances": len(lags), "lag_p50_s": round(percentile(lags, 0.5), 3),
            "lag_p95_s": round(percentile(lags, 0.95), 3), "lag_max_s": round(max(lags, default=-1), 3),
            "mean_lag_s": round(statistics.fmean(lags), 3) if lags else None,
            "cpu_per_live_call": round(total / calls, 3),
            "cpu_by_part": {k: round(v, 3) for k, v in cpu.items()}, "queue": queue,
            "load_average_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
            "goal": "p95 lag <= 2 s with 4 calls", "met": bool(lags) and percentile(lags, 0.95) <= 2.0}


async def wait_workers(processes: list[Process], timeout_s: float = 240.0) -> None:
    """Until every live worker has loaded its model and logged that it started."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all("live_asr_worker_started" in (p.tail(200) or "") for p in processes):
            return
        dead = [p for p in processes if not p.running()]
        if dead:
            raise RuntimeError(f"a live worker exited:\n{dead[0].tail()}")
        await asyncio.sleep(1.0)
    raise RuntimeError("the live workers did not start in time")


def decode_stats(processes: list[Process]) -> dict[str, float]:
    """From the workers' logs: how long segments waited for a worker, and the decode itself."""
    waited, decode = [], []
    for process in processes:
        for line in (process.tail(100000) or "").splitlines():
            if "live_asr_job_done" in line:
                with contextlib.suppress(ValueError):
                    data = json.loads(line[line.index("{"):])
                    waited.append(float(data["waited_s"]))
                    decode.append(float(data["decode_s"]))
    return {"waited_p50_s": round(percentile(waited, 0.5), 3), "decode_p50_s": round(percentile(decode, 0.5), 3),
            "decode_p95_s": round(percentile(decode, 0.95), 3)}


async def queue_stats(db_url: str) -> dict[str, Any]:
    """How the live_asr jobs fared: by status, waits and decode times, retries, errors."""
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(
            """SELECT count(*) AS jobs, count(*) FILTER (WHERE status = 'done') AS done,
                      count(*) FILTER (WHERE attempts > 1) AS retried,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at))
                          AS done_after_p50_s,
                      max(last_error) AS an_error
               FROM jobs WHERE kind = 'live_asr'""")
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in dict(row).items()}
    finally:
        await conn.close()


async def with_database(args: argparse.Namespace, bundle: Bundle) -> dict[str, object]:
    async with scratch(args.database, "live") as (db_url, work):
        return await run(bundle, db_url, work, args.calls, args.workers, args.seconds,
                         args.agent_speech)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--agent-speech", action="store_true", help="the agents' phones speak too")
    parser.add_argument("--database", default=ADMIN_URL,
                        help=ADMIN_HELP)
    args = parser.parse_args()
    return run_benchmark("live", lambda bundle: with_database(args, bundle), lambda result: bool(result["met"]))


if __name__ == "__main__":
    sys.exit(main())
