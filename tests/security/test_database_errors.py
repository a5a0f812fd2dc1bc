"""The persistence edge of the web side: a database error from any store is a 503 with a stable
``error_id``, and what needs no session (static files, ``/healthz``, ``/metrics``) never asks the
database for one, so it answers while the database is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcenter.metrics import Metrics
from callcenter.store.errors import DatabaseUnavailable
from callcenter.store.users import Session, User, UserStore
from callcenter.web.app import Health, make_app
from callcenter.web.auth import SESSION_COOKIE
from callcenter.web.keys import SESSION

Client = TestClient[web.Request, web.Application]


class BrokenPool:
    """A pool whose every query raises ``error`` (and counts the attempt)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.queries = 0

    async def _fail(self, *args: Any, **kwargs: Any) -> Any:
        self.queries += 1
        raise self.error

    fetch = fetchrow = fetchval = execute = _fail


class Sessions:
    """A session store: a supervisor's session for any token, or ``error`` when given."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.lookups = 0

    async def session(self, token: str) -> Session | None:
        self.lookups += 1
        if self.error is not None:
            raise self.error
        user = User(1, "sup", "Sam Supervisor", "supervisor", "en", None)
        return Session(user, "csrf", datetime.now(UTC) + timedelta(hours=1))


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


async def _client(pool: BrokenPool, sessions: Sessions) -> Client:
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(),
                   cast(asyncpg.Pool, pool))
    app[SESSION] = cast(UserStore, sessions)
    client = TestClient(TestServer(app))
    await client.start_server()
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: "token"})
    return client


@pytest.fixture
async def broken() -> AsyncIterator[tuple[Client, BrokenPool, Sessions]]:
    pool, sessions = BrokenPool(DatabaseUnavailable("db:5432 refused")), Sessions()
    client = await _client(pool, sessions)
    yield client, pool, sessions
    await client.close()


@pytest.mark.parametrize(("error", "error_id"), [
    (DatabaseUnavailable("db:5432 refused"), "db_unavailable"),
    (asyncpg.InterfaceError("connection is closed"), "db_unavailable"),
    (ConnectionRefusedError(111, "refused"), "db_unavailable"),
    (asyncpg.CannotConnectNowError("the database system is starting up"), "db_unavailable"),
    (asyncpg.UndefinedTableError('relation "calls" does not exist'), "db_error"),
])
async def test_given_a_store_that_raises_when_an_api_reads_it_then_503_with_a_stable_error_id(
        error: BaseException, error_id: str) -> None:
    pool = BrokenPool(error)
    client = await _client(pool, Sessions())
    try:
        for path in ("/api/calls", "/api/calls/7"):
            response = await client.get(path)
            assert response.status == 503, path
            body = await response.json()
            assert body["error"] == "database unavailable"
            assert body["error_id"] == error_id
            assert response.headers["Content-Type"].startswith("application/json")
        assert pool.queries == 2
    finally:
        await client.close()


async def test_given_a_value_the_database_refuses_then_it_stays_a_400() -> None:
    client = await _client(BrokenPool(asyncpg.NumericValueOutOfRangeError("out of range")), Sessions())
    try:
        response = await client.get("/api/calls")
        assert response.status == 400
        assert (await response.json())["error_id"] == "bad_value"
    finally:
        await client.close()


async def test_given_the_database_down_when_the_session_is_looked_up_then_503() -> None:
    sessions = Sessions(asyncpg.InterfaceError("connection is closed"))
    client = await _client(BrokenPool(DatabaseUnavailable("down")), sessions)
    try:
        response = await client.get("/api/me")
        assert response.status == 503
        assert (await response.json())["error_id"] == "db_unavailable"
        assert sessions.lookups == 1
    finally:
        await client.close()


async def test_given_the_database_down_then_static_files_healthz_and_metrics_answer_without_a_session(
        broken: tuple[Client, BrokenPool, Sessions]) -> None:
    client, pool, sessions = broken
    sessions.error = DatabaseUnavailable("down")
    for path in ("/healthz", "/metrics", "/static/app.css", "/static/dom.js", "/favicon.ico"):
        response = await client.get(path)
        assert response.status == 200, path
    assert sessions.lookups == 0
    assert pool.queries == 0
