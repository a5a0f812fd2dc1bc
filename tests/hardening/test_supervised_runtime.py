"""The server's loops run under one supervisor: a loop that fails once is started again, one that
keeps failing stops the server loudly (so that a standby takes over), every resource is closed on
the way out even when one close fails, and ``/healthz`` shows how long ago each loop last made a
successful turn."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
import structlog

from callcenter.ami.client import AmiClient
from callcenter.console.hub import ConsoleHub
from callcenter.metrics import Metrics
from callcenter.runtime.supervisor import LoopFailed, Supervisor
from callcenter.server.build import build_server
from callcenter.server.leadership import serve_with_standby
from tests.amifake import FakeAmi
from tests.helpers.polling import wait_until
from tests.integration.test_serve import get, settings_for


async def test_given_a_loop_that_keeps_failing_then_the_supervisor_stops_everything_and_says_which() -> None:
    metrics = Metrics()
    calm_cancelled = asyncio.Event()

    async def failing() -> None:
        raise RuntimeError("disk on fire")

    async def calm() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            calm_cancelled.set()
            raise

    with structlog.testing.capture_logs() as logs, pytest.raises(ExceptionGroup) as raised:
        async with Supervisor(metrics, max_failures=3, window_s=60, restart_backoff_s=0.01) as supervisor:
            supervisor.start("calm", calm)
            supervisor.start("failing", failing)
            await asyncio.sleep(30)  # cancelled when the group stops
    failed = raised.value.subgroup(LoopFailed)
    assert failed is not None
    assert [e.loop for e in failed.exceptions if isinstance(e, LoopFailed)] == ["failing"], failed.exceptions
    assert len(failed.exceptions) == 1
    assert calm_cancelled.is_set()
    assert metrics.registry.get_sample_value("callcenter_task_failures_total", {"task": "failing"}) == 4
    assert [entry["loop"] for entry in logs if entry["event"] == "loop_failed_for_good"] == ["failing"]
    assert next(entry for entry in logs if entry["event"] == "loop_failed_for_good")["log_level"] == "error"


async def test_given_failures_spread_beyond_the_window_then_the_loop_keeps_being_restarted() -> None:
    now = [0.0]
    runs: list[float] = []

    async def flaky() -> None:
        runs.append(now[0])
        now[0] += 100.0  # each failure is far from the one before
        if len(runs) < 6:
            raise RuntimeError("transient")
        await asyncio.sleep(3600)

    async with Supervisor(None, max_failures=3, window_s=60, restart_backoff_s=0.001,
                          clock=lambda: now[0]) as supervisor:
        supervisor.start("flaky", flaky)
        await wait_until(lambda: len(runs) == 6, timeout_s=10)
        assert supervisor.liveness()["flaky"]["failures"] == 5


async def test_given_a_routing_loop_that_raises_once_then_it_is_restarted_and_healthz_shows_it(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeAmi() as ami, build_server(settings_for(ami.port, db_url, tmp_path)) as server:
        await server.ami.wait_connected(5)
        router = server.engine.router
        real = router.next_due
        calls = [0]

        def next_due_failing_once() -> float | None:
            calls[0] += 1
            if calls[0] == 1:
                raise RuntimeError("timer heap broken")
            return real()

        monkeypatch.setattr(router, "next_due", next_due_failing_once)
        await wait_until(lambda: server.supervisor.liveness()["routing"]["failures"] == 1, timeout_s=10)
        await wait_until(lambda: server.supervisor.liveness()["routing"]["state"] == "running", timeout_s=10)
        _, body = await get(server.http_port, "/healthz")
        routing = json.loads(body)["loops"]["routing"]
        assert routing["failures"] == 1 and routing["state"] == "running"


async def test_given_the_running_server_then_healthz_and_metrics_show_each_loops_last_turn(
        db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami, build_server(settings_for(ami.port, db_url, tmp_path)) as server:
        await server.ami.wait_connected(5)
        await wait_until(lambda: server.supervisor.liveness()["recorder"]["age_s"] is not None
                       and server.supervisor.liveness()["recorder"]["age_s"] < 1.0)
        _, body = await get(server.http_port, "/healthz")
        loops = json.loads(body)["loops"]
        for name in ("recorder", "recordings", "routing", "agent-states", "ivr-log", "ivr-flows",
                     "ivr-heartbeat", "watchdog"):
            assert loops[name]["state"] == "running", name
            assert 0 <= loops[name]["age_s"] < 5, name
        assert loops["ami"]["state"] == "running"
        _, text = await get(server.http_port, "/metrics")
        assert 'callcenter_loop_last_success_age_seconds{loop="recorder"}' in text


async def test_given_a_loop_without_a_successful_turn_for_its_stall_limit_then_healthz_503_names_it(
        db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami, build_server(settings_for(ami.port, db_url, tmp_path)) as server:
        await server.ami.wait_connected(5)

        async def stuck() -> None:
            await asyncio.sleep(3600)  # never makes a turn

        server.supervisor.start("stuck", stuck, stall_s=0.3)
        await asyncio.sleep(0.5)
        status, body = await get(server.http_port, "/healthz")
        assert status == 503 and "loop:stuck" in json.loads(body)["progress"]["stalled"]
        _, text = await get(server.http_port, "/metrics")
        assert 'callcenter_progress_stalled{part="loop:stuck"} 1.0' in text


async def test_given_a_loop_that_keeps_failing_then_build_server_stops_and_closes_everything(
        db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        with pytest.raises(ExceptionGroup) as raised:
            async with build_server(settings_for(ami.port, db_url, tmp_path)) as server:
                await server.ami.wait_connected(5)
                port = server.http_port

                async def broken() -> None:
                    raise OSError("no space left")

                server.supervisor.start("broken", broken)
                await asyncio.sleep(60)  # cancelled when the loop fails for good
        assert raised.value.subgroup(LoopFailed) is not None
        assert server.ami.state == "closed"
        assert server.database.pool.is_closing()
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(port, "/healthz")


async def test_given_a_close_that_fails_then_every_other_part_is_closed_anyway(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []
    real_close = AmiClient.close

    async def console_close(self: ConsoleHub) -> None:
        raise RuntimeError("console would not close")

    async def ami_close(self: AmiClient) -> None:
        closed.append("ami")
        await real_close(self)

    monkeypatch.setattr(ConsoleHub, "close", console_close)
    monkeypatch.setattr(AmiClient, "close", ami_close)
    async with FakeAmi() as ami:
        with structlog.testing.capture_logs() as logs:
            async with build_server(settings_for(ami.port, db_url, tmp_path)) as server:
                await server.ami.wait_connected(5)
                port = server.http_port
        assert closed == ["ami"] and server.ami.state == "closed"
        assert server.database.pool.is_closing()
        assert all(loop["state"] == "stopped" for loop in server.supervisor.liveness().values())
        assert [e["part"] for e in logs if e["event"] == "close_failed"] == ["console"]
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(port, "/healthz")


async def test_given_the_ami_login_refused_then_serve_exits_1(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi(secret="another secret") as ami:
        settings = settings_for(ami.port, db_url, tmp_path)
        with structlog.testing.capture_logs() as logs:
            assert await asyncio.wait_for(serve_with_standby(settings), 30) == 1
    stopping = [e for e in logs if e["event"] == "server_stopping"]
    assert stopping and "'ami'" in stopping[0]["reason"]
    assert [e["loop"] for e in logs if e["event"] == "loop_failed_for_good"] == ["ami"]

