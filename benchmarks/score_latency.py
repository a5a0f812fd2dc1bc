"""From hang-up to QA score: how long after an answered call ends is its score ready?

    python benchmarks/score_latency.py [--calls 3] [--talk 30] [--asr-threads N] [--asr-beam N]
                                       [--asr-follow S]

The real server against the PBX simulator in real time (speed 1: the workers' waits and the
speech model's decoding are real seconds), with the speech-to-text and QA workers in their own
processes as in production. ``--calls`` callers go through the IVR to ``--calls`` agents who talk
``--talk`` seconds (the lab's recorded voices) and hang up. For each call: from the hang-up
(``calls.ended_at``) to the recordings finalised, the transcript stored and the QA score stored.

The baseline, measured in the same run, is each call's own talk time (answer to hang-up): the
goal is a score within 0.2x of it (Amazon Connect needs about 0.4x). Runs against the database
at DATABASE_URL (a scratch one: the shop is seeded into it) or an embedded PostgreSQL.

Prints JSON: {"calls", "talk_s", "finalised_s_p50", "asr_queued_s_max" (the server's part: from
hang-up to the speech-to-text job), "asr_s_p50"/"asr_s_max" (from that job queued to the
transcript stored: waiting for the worker, and decoding), "qa_s_p50"/"qa_s_max" (from the QA job
queued to the score stored), "transcript_s_p50", "score_s_p50", "score_s_max", "score_ratio_max",
"score_ratio_p50", "goal_ratio", "ok", "asr_threads", "asr_beam"}. The talk time runs from the
answer to the caller's hang-up (the post-call survey included). ``--asr-threads`` and
``--asr-beam`` set the speech-to-text worker's ``asr.threads`` (tracks decoded at once) and
``asr.beam_size`` (``CALLCENTER_ASR_THREADS``, ``CALLCENTER_ASR_BEAM_SIZE``); by default the
worker's own settings. ``--asr-follow`` sets ``asr.follow_s`` for the server and the worker: how
often a call's recordings are transcribed while it goes on (0: only after hang-up, the
pipeline as it was before).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from callcenter.clock import ScaledClock
from callcenter.demo.data import generate, phone_for
from callcenter.demo.run import REPO, STOCK_SOUNDS
from callcenter.demo.seed import seed_shop
from callcenter.demo.setup import MENU_AT_S, prepare_config
from callcenter.demo.workers import WorkerSupervisor, available_kinds, worker_env
from callcenter.logsetup import configure_logging
from callcenter.server.build import build_server
from callcenter.settings import (
    AmiSettings,
    DatabaseSettings,
    HttpSettings,
    RecordingSettings,
    Secret,
    Settings,
)
from callcenter.simulator import (
    AgentScript,
    Arrival,
    Behaviour,
    CallerScript,
    PbxSimulator,
    Press,
    Scenario,
    SimulatorConfig,
    Speech,
)
from callcenter.store.db import open_database
from callcenter.store.migrate import migrate

AUDIO = REPO / "callcenter" / "simulator" / "scenarios" / "audio"
GOAL = 0.2


def _scenario(calls: int, talk_s: float) -> Scenario:
    customers = generate().customers
    standard = [i for i in range(1, len(customers) + 1)
                if customers[i - 1][4] == "standard" and customers[i - 1][5] == "en"][:calls]
    at = MENU_AT_S["en"]
    callers = tuple(CallerScript(
        number=phone_for(index), name=f"Caller {index}", language="en",
        arrival=Arrival(at_s=(0.5 + n,)),
        behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")), patience_s=600.0,
                            talk=(Speech(1.0, AUDIO / "customer.wav"),)))
        for n, index in enumerate(standard))
    agents = tuple(AgentScript(extension=str(5000 + n), behaviour=Behaviour(
        answer_after_s=1.0, says=(Speech(0.5, AUDIO / "agent.wav"),), hangup_after_s=talk_s))
        for n in range(calls))
    return Scenario(callers, agents, "score-latency")


async def _measure(calls: int, talk_s: float, work: Path, asr: dict[str, str],
                   follow_s: float | None) -> dict[str, Any]:
    config = prepare_config(REPO / "config", work / "config")
    team = {"agents": [{"login": f"a{5000 + n}", "name": f"Agent {n}", "dial_string": f"PJSIP/{5000 + n}",
                        "languages": ["en"], "skills": {"refunds": 3, "general": 3}}
                       for n in range(calls)]}
    (config / "agents.yaml").write_text(yaml.safe_dump(team), encoding="utf-8")
    recordings = (work / "recordings").resolve()
    recordings.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(12)
    simulator = PbxSimulator(SimulatorConfig(
        host="127.0.0.1", port=0, secret=secret, time_scale=1.0,
        sound_dirs=(REPO / "asterisk-conf" / "sounds", *STOCK_SOUNDS), recording_dir=recordings))
    port = await simulator.start()
    db_url = os.environ.get("DATABASE_URL", "")
    settings = Settings(
        state_dir=(REPO / "state").resolve(), config_dir=config,
        database=DatabaseSettings(url=Secret(db_url)),
        ami=dataclasses.replace(AmiSettings(), port=port, secret=Secret(secret)),
        http=HttpSettings(port=0), recording=RecordingSettings(local_dir=str(recordings)))
    if follow_s is not None:
        settings = dataclasses.replace(settings, asr=dataclasses.replace(settings.asr, follow_s=follow_s))
    database = await open_database(settings.database, work)
    workers: WorkerSupervisor | None = None
    try:
        await migrate(database.pool)
        await seed_shop(database.pool)
        await database.pool.execute("TRUNCATE calls CASCADE")
        embedded = database.embedded
        url = embedded.dsn() if embedded is not None else db_url
        workers = WorkerSupervisor({**worker_env(settings, url), **asr}, available_kinds())
        await workers.start()
        async with build_server(settings, database, ScaledClock(1.0)) as server:
            for _ in range(600):  # healthz would say 200 from here
                if server.reconciled:
                    break
                await asyncio.sleep(0.1)
            for status in server.agents.statuses():
                server.agents.login(status.agent_id, ready=True)
            started = time.monotonic()
            await simulator.run_scenario(_scenario(calls, talk_s))
            query = """SELECT c.id, c.answered_at, c.ended_at,
                              (SELECT max(r.ended_at) FROM recordings r WHERE r.call_id = c.id
                                AND r.status <> 'recording'
                                AND NOT EXISTS (SELECT 1 FROM recordings o WHERE o.call_id = c.id
                                                AND o.status = 'recording')) AS finalised_at,
                              (SELECT min(j.created_at) FROM jobs j WHERE j.kind = 'asr'
                                AND j.key = c.id::text) AS asr_queued_at,
                              (SELECT min(j.created_at) FROM jobs j WHERE j.kind = 'qa'
                                AND j.key = c.id::text) AS qa_queued_at,
                              t.created_at AS transcript_at, q.scored_at
                       FROM calls c LEFT JOIN transcripts t ON t.call_id = c.id
                       LEFT JOIN qa_results q ON q.call_id = c.id
                       WHERE c.outcome = 'answered'"""
            while True:
                rows = await database.pool.fetch(query)
                if len(rows) == calls and all(r["scored_at"] is not None for r in rows):
                    break
                if time.monotonic() - started > 600:
                    raise SystemExit(f"scores not ready: {[dict(r) for r in rows]}")
                await asyncio.sleep(0.1)
    finally:
        if workers is not None:
            await workers.stop()
        await simulator.stop()
        await database.close()

    return _summary(rows, calls)


def _summary(rows: list[Any], calls: int) -> dict[str, Any]:
    def after(row: Any, key: str, since: str = "ended_at") -> float:
        return float((row[key] - row[since]).total_seconds())

    asr = [after(r, "transcript_at", "asr_queued_at") for r in rows]
    qa = [after(r, "scored_at", "qa_queued_at") for r in rows]
    talks = [float((r["ended_at"] - r["answered_at"]).total_seconds()) for r in rows]
    score = [after(r, "scored_at") for r in rows]
    ratios = [s / t for s, t in zip(score, talks, strict=True)]
    return {"calls": calls, "talk_s": round(statistics.median(talks), 2),
            "finalised_s_p50": round(statistics.median(after(r, "finalised_at") for r in rows), 2),
            "asr_queued_s_max": round(max(after(r, "asr_queued_at") for r in rows), 2),
            "asr_s_p50": round(statistics.median(asr), 2), "asr_s_max": round(max(asr), 2),
            "qa_s_p50": round(statistics.median(qa), 2), "qa_s_max": round(max(qa), 2),
            "transcript_s_p50": round(statistics.median(after(r, "transcript_at") for r in rows), 2),
            "score_s_p50": round(statistics.median(score), 2), "score_s_max": round(max(score), 2),
            "score_ratio_p50": round(statistics.median(ratios), 3),
            "score_ratio_max": round(max(ratios), 3), "goal_ratio": GOAL, "ok": max(ratios) <= GOAL}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--talk", type=float, default=30.0, help="agents talk this many seconds")
    parser.add_argument("--asr-threads", type=int, help="the ASR worker's asr.threads")
    parser.add_argument("--asr-beam", type=int, help="the ASR worker's asr.beam_size")
    parser.add_argument("--asr-follow", type=float, help="asr.follow_s (0: transcribe after hang-up only)")
    args = parser.parse_args()
    configure_logging("warning")
    asr = {name: str(value) for name, value in (("CALLCENTER_ASR_THREADS", args.asr_threads),
                                                 ("CALLCENTER_ASR_BEAM_SIZE", args.asr_beam),
                                                 ("CALLCENTER_ASR_FOLLOW_S", args.asr_follow))
           if value is not None}
    with tempfile.TemporaryDirectory(prefix="score-latency-") as work:
        result = asyncio.run(_measure(args.calls, args.talk, Path(work), asr, args.asr_follow))
    result.update(asr_threads=args.asr_threads or "default", asr_beam=args.asr_beam or "default",
                  asr_follow_s=args.asr_follow if args.asr_follow is not None else "default",
                  load_avg_1m=round(os.getloadavg()[0], 2))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
