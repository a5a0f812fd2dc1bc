"""``/healthz`` tells the truth: a writer, loop, task or worker that makes no progress turns it
503 and shows in ``/metrics``; no exception escapes a background task unseen."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import asyncpg
import pytest

from callcenter.metrics import Metrics
from callcenter.runtime.supervisor import Supervisor
from callcenter.runtime.watchdog import Watchdog
from callcenter.server.build import build_server
from callcenter.settings import HealthSettings
from tests.amifake import FakeAmi
from tests.helpers.polling import wait_until
from tests.integration.test_serve import get, settings_for


async def test_given_a_task_that_raises_then_it_is_logged_counted_reported_and_restarted() -> None:
    metrics = Metrics()
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("boom")
        await asyncio.sleep(3600)

    async with Supervisor(metrics, restart_backoff_s=0.05) as supervisor:
        supervisor.start("flaky", flaky)
        await wait_until(lambda: metrics.registry.get_sample_value(
            "callcenter_task_failures_total", {"task": "flaky"}) == 1)
        assert "task:flaky" in supervisor.problems()
        await wait_until(lambda: len(runs) == 2)
        assert supervisor.problems() == {}


async def test_given_a_stale_probe_then_it_is_a_problem_and_the_gauge_says_so() -> None:
    metrics = Metrics()
    now = [1000.0]
    watchdog = Watchdog(metrics, stall_s=10, clock=lambda: now[0])
    last = [1000.0]
    watchdog.watch("writer:x", lambda: last[0])
    assert watchdog.problems() == {}
    now[0] = 1011.0
    assert "writer:x" in watchdog.problems()
    assert metrics.registry.get_sample_value("callcenter_progress_stalled", {"part": "writer:x"}) == 1


async def test_given_the_call_writer_stuck_then_healthz_503_names_it(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path),
                                       health=HealthSettings(stall_s=3.0))
        async with build_server(settings) as server:
            await server.ami.wait_connected(5)
            status, body = await get(server.http_port, "/healthz")
            assert "writer:calls" not in json.loads(body)["progress"]["stalled"]

            async def stuck() -> None:
                raise OSError("disk full")

            monkeypatch.setattr(server.recorder, "flush", stuck)
            await asyncio.sleep(4.0)
            status, body = await get(server.http_port, "/healthz")
            assert status == 503 and "writer:calls" in json.loads(body)["progress"]["stalled"]
            _, text = await get(server.http_port, "/metrics")
            assert 'callcenter_progress_stalled{part="writer:calls"} 1.0' in text


async def test_given_jobs_waiting_and_no_worker_then_healthz_503_and_metrics_show_the_queue(
        db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path),
                                       health=HealthSettings(worker_stall_s=30))
        async with build_server(settings) as server:
            await server.ami.wait_connected(5)
            conn = await asyncpg.connect(db_url)
            try:
                await conn.execute("DELETE FROM jobs")
                await conn.execute(
                    "INSERT INTO jobs (kind, key, run_after, created_at) VALUES"
                    " ('asr', 'a', now() - interval '120 s', now() - interval '120 s'),"
                    " ('asr', 'b', now(), now())")
                await conn.execute(
                    "INSERT INTO jobs (kind, key, status, attempts, locked_by, locked_until)"
                    " VALUES ('qa', 'c', 'running', 1, 'w1', now() - interval '5 s')")
                await conn.execute("UPDATE jobs SET updated_at = now() - interval '300 s'")
            finally:
                await conn.close()
            status, body = await get(server.http_port, "/healthz")
            stalled = json.loads(body)["progress"]["stalled"]
            assert status == 503 and "worker:asr" in stalled and "worker:qa" not in stalled
            _, text = await get(server.http_port, "/metrics")
            assert 'callcenter_jobs_queued{kind="asr"} 2.0' in text
            assert 'callcenter_jobs_expired_leases{kind="qa"} 1.0' in text
            age = [line for line in text.splitlines()
                   if line.startswith('callcenter_jobs_oldest_age_seconds{kind="asr"}')]
            assert age and float(age[0].split()[-1]) >= 119
