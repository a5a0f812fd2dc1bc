"""Staffing requests are bounded and computed off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.metrics import Metrics
from callcenter.staffing.pool import IntervalInput, StaffingBusy, StaffingPool
from callcenter.store.users import UserStore
from callcenter.web import api_kpis
from callcenter.web.app import Health, make_app


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


def heavy(n: int) -> list[IntervalInput]:
    return [IntervalInput(360_000.0, 180.0, 0.8, 20.0, 0.3, 0.9) for _ in range(n)]  # 18,000 Erlangs


async def test_the_event_loop_keeps_running_while_a_large_batch_is_computed() -> None:
    pool = StaffingPool(timeout_s=120)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        results = await pool.run(heavy(20))
    finally:
        done.set()
        await task
        pool.close()
    assert len(results) == 20 and not isinstance(results[0], str) and results[0].agents > 18_000
    assert ticks > 100  # the loop went on turning while the batch ran elsewhere


async def test_more_waiting_batches_than_the_bound_are_refused() -> None:
    pool = StaffingPool(max_workers=1, max_waiting=1, timeout_s=120)
    try:
        runs = [asyncio.create_task(pool.run(heavy(5))) for _ in range(4)]
        results = await asyncio.gather(*runs, return_exceptions=True)
    finally:
        pool.close()
    assert sum(isinstance(r, StaffingBusy) for r in results) == 2
    assert sum(isinstance(r, list) for r in results) == 2


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[TestClient]:
    await pool.execute("TRUNCATE users, sessions RESTART IDENTITY CASCADE")
    await UserStore(pool).create_user("boss", "Boss", "supervisor", "demo")
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_kpis.register])
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_a_request_beyond_the_work_bound_is_a_400_and_a_large_one_is_answered(client: TestClient) -> None:
    response = await client.post("/login", json={"login": "boss", "password": "demo"})
    csrf = {"X-CSRF-Token": (await response.json())["csrf_token"]}
    base = {"aht_s": 300, "target": 0.8, "within_s": 20, "interval_minutes": 30}
    too_much = await client.post("/api/staffing", headers=csrf, json={
        **base, "intervals": [{"interval_start": str(n), "calls": 100_000} for n in range(2000)]})
    assert too_much.status == 400 and (await too_much.json())["parameter"] == "intervals"
    one_huge = await client.post("/api/staffing", headers=csrf, json={
        **base, "intervals": [{"calls": 10_000_000}]})
    assert one_huge.status == 400
    large = await client.post("/api/staffing", headers=csrf, json={
        **base, "intervals": [{"interval_start": str(n), "calls": 1000} for n in range(2000)]})
    body = await large.json()
    assert large.status == 200 and len(body["intervals"]) == 2000 and body["peak_agents"] > 160
