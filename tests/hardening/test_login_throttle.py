"""The login throttle is atomic (checked and counted before the slow hash), per account and per
client address, and cannot be reset by the attacker's own good login."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web.app import Health, make_app


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


async def _client(pool: asyncpg.Pool, trust_proxy: bool) -> TestClient:
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   trust_proxy=trust_proxy)
    return TestClient(TestServer(app))


@pytest.fixture
async def users(pool: asyncpg.Pool) -> AsyncIterator[None]:
    await pool.execute("TRUNCATE users, sessions RESTART IDENTITY CASCADE")
    store = UserStore(pool)
    await store.create_user("victim", "Victim", "supervisor", "right-password")
    await store.create_user("mallory", "Mallory", "qa", "mallory-own")
    for n in range(3):
        await store.create_user(f"other{n}", f"Other {n}", "qa", "x-secret")
    yield


async def login(client: TestClient, name: str, password: str,
                forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = await client.post("/login", json={"login": name, "password": password}, headers=headers)
    return response.status


async def test_given_40_parallel_guesses_then_at_most_5_reach_the_password_check(
        pool: asyncpg.Pool, users: None) -> None:
    async with await _client(pool, False) as client:
        guesses = [f"wrong-{n}" for n in range(39)] + ["right-password"]
        statuses = await asyncio.gather(*(login(client, "victim", g) for g in guesses))
        checked = [s for s in statuses if s in (200, 401)]
        assert len(checked) <= 5, statuses
        assert statuses.count(429) >= 35


async def test_given_guesses_over_many_accounts_then_the_address_is_throttled(
        pool: asyncpg.Pool, users: None) -> None:
    async with await _client(pool, False) as client:
        names = ["other0", "other1", "other2", "victim", "nobody"]
        assert [await login(client, n, "guess") for n in names] == [401] * 5
        assert await login(client, "victim", "right-password") == 429


async def test_the_attackers_own_good_login_does_not_reset_the_address_counter(
        pool: asyncpg.Pool, users: None) -> None:
    async with await _client(pool, False) as client:
        for name in ("other0", "other1", "other2", "victim"):
            assert await login(client, name, "guess") == 401
        assert await login(client, "mallory", "mallory-own") == 200
        assert await login(client, "other0", "guess") == 401
        assert await login(client, "victim", "right-password") == 429


async def test_a_legitimate_user_logging_in_often_is_not_throttled(pool: asyncpg.Pool, users: None) -> None:
    async with await _client(pool, False) as client:
        assert [await login(client, "mallory", "mallory-own") for _ in range(12)] == [200] * 12


async def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
        pool: asyncpg.Pool, users: None) -> None:
    async with await _client(pool, False) as client:
        statuses = [await login(client, f"other{n % 3}", "guess", forwarded=f"10.0.0.{n}")
                    for n in range(6)]
        assert statuses[-1] == 429  # rotating the header does not make new addresses
    await pool.execute("TRUNCATE sessions")
    async with await _client(pool, True) as client:
        for n in range(5):
            assert await login(client, f"other{n % 3}", "guess", forwarded="203.0.113.7") == 401
        assert await login(client, "mallory", "x", forwarded="203.0.113.7") == 429
        # another client behind the same proxy is not blocked by that one's failures
        assert await login(client, "mallory", "mallory-own", forwarded="198.51.100.2, 203.0.113.9") == 200
