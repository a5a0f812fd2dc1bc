"""A real PostgreSQL for integration tests: a fresh database per test module, dropped after it.

The server is the one at ``CALLCENTER_TEST_DATABASE_URL`` (must answer), else the machine's at
``postgresql://postgres@127.0.0.1:5432/postgres`` when it answers, else an embedded pgserver
started once for the session in a temporary directory.

Fixtures: ``pg_server_url`` (admin URL, session), ``new_database`` (factory of empty databases,
module), ``db_url`` (this module's database), ``pool`` (a migrated asyncpg pool on it, per test),
``db_proxy`` (a TCP proxy to that database which a test can cut and restore: an outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from callcenter.store.embedded import start_embedded_sync, stop_embedded_sync
from callcenter.store.migrate import migrate
from tests.helpers.machine_lock import machine_lock

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
T = TypeVar("T")


def run_in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on its own loop in a thread, so sync fixtures can talk to
    PostgreSQL without touching the event loops pytest-asyncio manages."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server (TCP or Unix-socket URL)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """Admin URL (``postgres`` database) of the server the tests create their databases on."""
    explicit = os.environ.get("CALLCENTER_TEST_DATABASE_URL")
    url = explicit or DEFAULT_SERVER_URL
    if run_in_thread(lambda: _answers(url)):
        yield url
        return
    if explicit:
        pytest.fail("CALLCENTER_TEST_DATABASE_URL is set but its server does not answer")
    root = Path(tempfile.mkdtemp(prefix="cc-pg-"))
    with machine_lock("embedded-postgres"):  # its first start as root creates a system user
        embedded = start_embedded_sync(root / "pgdata")
    try:
        yield embedded.dsn("postgres")
    finally:
        stop_embedded_sync(embedded)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def new_database(pg_server_url: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Call it to get the URL of a new, empty database; all of them are dropped after the module."""
    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())[:24]
    created: list[str] = []

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_server_url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def create() -> str:
        name = f"cc_{module}_{uuid.uuid4().hex[:10]}"
        run_in_thread(lambda: admin(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return with_database(pg_server_url, name)

    def drop(name: str) -> None:
        run_in_thread(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        # the restricted role a server provisioned for it (callcenter.store.roles)
        run_in_thread(lambda: admin(f'DROP ROLE IF EXISTS "{name.lower()}_app"'))

    yield create
    for name in created:
        drop(name)


@pytest.fixture(scope="module")
def db_url(new_database: Callable[[], str]) -> str:
    """This test module's database (migrated by the first ``pool`` fixture that uses it)."""
    return new_database()


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A migrated pool on the module's database, closed after the test."""
    pg = await asyncpg.create_pool(db_url, min_size=1, max_size=4)
    try:
        await migrate(pg)
        yield pg
    finally:
        await pg.close()


@pytest.fixture
async def fresh_pool(new_database: Callable[[], str]) -> AsyncIterator[asyncpg.Pool]:
    """A migrated pool on a database of its own: each test counts rows from zero."""
    pg = await asyncpg.create_pool(new_database(), min_size=1, max_size=4)
    try:
        await migrate(pg)
        yield pg
    finally:
        await pg.close()


class PgProxy:
    """A TCP proxy to the test server; :meth:`cut` breaks every link and refuses new ones (an
    outage, as seen from the client), :meth:`restore` ends it."""

    def __init__(self, target_url: str) -> None:
        self._target_url = target_url
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.cut_off = False
        self.port = 0

    @property
    def url(self) -> str:
        """The target URL routed through the proxy."""
        parts = urlsplit(self._target_url)
        user = f"{parts.username}@" if parts.username else ""
        if parts.password:
            user = f"{parts.username}:{parts.password}@"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
        return urlunsplit((parts.scheme, f"{user}127.0.0.1:{self.port}", parts.path, query, ""))

    async def start(self) -> PgProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def cut(self) -> None:
        self.cut_off = True
        for writer in list(self._links):
            writer.close()

    def restore(self) -> None:
        self.cut_off = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _open_upstream(self) -> Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        parts = urlsplit(self._target_url)
        query = dict(parse_qsl(parts.query))
        port = int(query.get("port") or parts.port or 5432)
        host = query.get("host") or parts.hostname or "localhost"
        if host.startswith("/"):
            return asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return asyncio.open_connection(host, port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            up_reader, up_writer = await self._open_upstream()
        except OSError:
            writer.close()
            return
        self._links.update((writer, up_writer))
        pumps = [asyncio.ensure_future(self._pump(reader, up_writer)),
                 asyncio.ensure_future(self._pump(up_reader, writer))]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        for w in (writer, up_writer):
            w.close()
            self._links.discard(w)
        self._tasks.difference_update(pumps)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


@pytest.fixture
async def db_proxy(db_url: str) -> AsyncIterator[PgProxy]:
    """A :class:`PgProxy` to the module's database; connect through ``db_proxy.url``."""
    proxy = await PgProxy(db_url).start()
    try:
        yield proxy
    finally:
        await proxy.close()
