"""/api/kpis (JSON and CSV), /api/staffing and /api/staffing/history against a real database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web import api_kpis, reports_page
from callcenter.web.app import Health, make_app

pytestmark = pytest.mark.integration
DAY = datetime(2026, 5, 4, tzinfo=UTC)
PERIOD = {"from": "2026-05-04T00:00:00Z", "to": "2026-05-05T00:00:00Z"}


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[TestClient]:
    await pool.execute("TRUNCATE users, sessions, calls, agents, tickets RESTART IDENTITY CASCADE")
    agent = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                                " VALUES ('a1', '=Ann', 'PJSIP/1001') RETURNING id")
    users = UserStore(pool)
    await users.create_user("sup", "Sam", "supervisor", "demo")
    await users.create_user("agent1", "Agent One", "agent", "demo", agent_id=agent)
    for n, (hh, wait, talk, outcome) in enumerate([(9, 10, 100, "answered"), (9, 30, 200, "answered"),
                                                   (10, 3, None, "abandoned")]):
        arrived = DAY + timedelta(hours=hh, minutes=n)
        await pool.execute(
            "INSERT INTO calls (linkedid, caller_number, state, outcome, agent_id, arrived_at, queued_at,"
            " answered_at, ended_at, context, csat) VALUES ($1, $2, 'ended', $3, $4, $5, $5, $6, $7,"
            " $8::jsonb, $9)",
            f"k{n}", f"55{n}", outcome, agent if talk else None, arrived,
            arrived + timedelta(seconds=wait) if talk else None,
            arrived + timedelta(seconds=wait + (talk or 0)),
            json.dumps({"route.skill": "returns", "language": "en"}), 4 if talk else None)
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_kpis.register, reports_page.register])
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def login(client: TestClient, name: str = "sup") -> dict[str, str]:
    response = await client.post("/login", json={"login": name, "password": "demo"})
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


async def test_kpis_by_agent_and_hour(client: TestClient) -> None:
    await login(client)
    report = await (await client.get("/api/kpis", params={**PERIOD, "group": "agent"})).json()
    labels = {r["label"]: r for r in report["rows"]}
    assert set(labels) == {"=Ann", "—"}
    ann = labels["=Ann"]
    assert (ann["offered"], ann["answered"], ann["service_level"], ann["asa_s"], ann["aht_s"]) == (
        2, 2, 0.5, 20.0, 150.0)
    assert report["total"]["offered"] == 3 and report["total"]["short_abandons"] == 1
    assert report["total"]["service_level"] == pytest.approx(0.5)  # 1 within 20 s / (3 - 1 short)
    hours = await (await client.get("/api/kpis", params={**PERIOD, "group": "hour"})).json()
    assert [(r["group"], r["offered"]) for r in hours["rows"]] == [
        ("2026-05-04T09:00:00", 2), ("2026-05-04T10:00:00", 1)]
    queue = await (await client.get("/api/kpis", params={**PERIOD, "group": "queue"})).json()
    assert [r["group"] for r in queue["rows"]] == ["returns/en"]


async def test_csv_export_has_every_column_and_no_formulas(client: TestClient) -> None:
    await login(client)
    response = await client.get("/api/kpis.csv", params={**PERIOD, "group": "agent"})
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert list(rows[0]) == list(api_kpis.CSV_COLUMNS)
    assert rows[0]["label"] == "'=Ann" and rows[0]["aht_s"] == "150.0"
    assert rows[-1]["label"] == "total" and rows[-1]["offered"] == "3"


async def test_bad_parameters_are_explained(client: TestClient) -> None:
    await login(client)
    for params in ({"group": "week"}, {"from": "2026-05-04"}, {"tz": "Mars/Base"},
                   {"from": "2026-05-05T00:00:00Z", "to": "2026-05-04T00:00:00Z"},
                   {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}):
        response = await client.get("/api/kpis", params=params)
        assert response.status == 400, params
        assert (await response.json())["error_id"] == "bad_parameter"


async def test_staffing_uses_erlang_c(client: TestClient) -> None:
    csrf = await login(client)
    one = await (await client.post("/api/staffing", headers=csrf, json={
        "calls_per_hour": 240, "aht_s": 180, "target": 0.8, "within_s": 20})).json()
    assert one["intervals"][0]["agents"] == 16 and one["intervals"][0]["service_level"] == 0.8688
    many = await (await client.post("/api/staffing", headers=csrf, json={
        "intervals": [{"interval_start": "09:00", "calls": 100}, {"interval_start": "09:30", "calls": 360,
                                                                   "aht_s": 240}],
        "interval_minutes": 30, "aht_s": 180, "target": 0.8, "within_s": 20, "shrinkage": 0.3,
        "max_occupancy": 0.85})).json()
    assert [(r["agents"], r.get("scheduled_agents")) for r in many["intervals"]] == [(14, 20), (57, 82)]
    assert many["peak_agents"] == 57
    bad = await client.post("/api/staffing", headers=csrf, json={"calls_per_hour": 240, "aht_s": 180,
                                                                 "target": 1.5, "within_s": 20})
    assert bad.status == 400 and "target" in (await bad.json())["message"]


async def test_staffing_history_is_a_typical_day(client: TestClient) -> None:
    await login(client)
    history = await (await client.get("/api/staffing/history",
                                      params={**PERIOD, "interval_minutes": "60"})).json()
    assert history["intervals"] == [{"interval_start": "09:00", "calls": 2.0},
                                    {"interval_start": "10:00", "calls": 1.0}]
    assert history["aht_s"] == pytest.approx(150.0)


async def test_agents_are_refused(client: TestClient) -> None:
    csrf = await login(client, "agent1")
    assert (await client.get("/api/kpis")).status == 403
    assert (await client.post("/api/staffing", json={}, headers=csrf)).status == 403
