"""CSV exports neutralise cells a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web import api_kpis
from callcenter.web.app import Health, make_app
from callcenter.web.csv_cells import safe_cell

RISKY = ["=1+2", "+SUM(A1)", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd", "\n=cmd", "＝1+1", "＋1", "－1", "＠x"]


@pytest.mark.parametrize("text", RISKY)
def test_risky_text_gets_a_leading_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_plain_text_and_numbers_are_kept() -> None:
    assert [safe_cell(v) for v in ("Ann", "a=b", "", None, -1.5, 0, 3)] == ["Ann", "a=b", "", "", -1.5, 0, 3]


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[TestClient]:
    await pool.execute("TRUNCATE users, sessions, calls, agents RESTART IDENTITY CASCADE")
    arrived = datetime(2026, 5, 4, 9, tzinfo=UTC)
    for n, name in enumerate(RISKY):
        agent = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                                    " VALUES ($1, $2, 'PJSIP/1001') RETURNING id", f"a{n}", name)
        await pool.execute(
            "INSERT INTO calls (linkedid, state, outcome, agent_id, arrived_at, answered_at, ended_at)"
            " VALUES ($1, 'ended', 'answered', $2, $3, $3, $3)", f"c{n}", agent, arrived)
    await UserStore(pool).create_user("sup", "Sam", "supervisor", "demo")
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_kpis.register])
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_the_kpi_export_neutralises_every_risky_agent_name(client: TestClient) -> None:
    await client.post("/login", json={"login": "sup", "password": "demo"})
    response = await client.get("/api/kpis.csv", params={
        "from": "2026-05-04T00:00:00Z", "to": "2026-05-05T00:00:00Z", "group": "agent"})
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"), newline="")))
    labels = {r["label"] for r in rows if r["label"] != "total"}
    assert labels == {"'" + name for name in RISKY}
