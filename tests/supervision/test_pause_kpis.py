"""Pause time and count by agent, day and reason, on a hand-made state history with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from callcenter.kpi.pauses import by_reason, pause_kpis
from callcenter.kpi.report import KpiError

pytestmark = pytest.mark.integration

DAY = datetime(2026, 4, 6, tzinfo=UTC)


def at(hh: int, mm: int = 0, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hh, minutes=mm)


@pytest.fixture
async def history(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE calls, agents, agent_state_changes RESTART IDENTITY CASCADE")
    ann = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                              " VALUES ('ann', 'Ann', 'PJSIP/1001') RETURNING id")
    bob = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                              " VALUES ('bob', 'Bob', 'PJSIP/1002') RETURNING id")
    rows = [
        # ann: lunch from the evening before until 00:30 (30 min inside day 0, counted on day 0
        # without a count: it began before the period), then break 10:00-10:15, lunch 12:00-13:00
        (ann, "paused", "lunch", at(23, 0, day=-1)), (ann, "ready", "", at(0, 30)),
        (ann, "paused", "break", at(10)), (ann, "ready", "", at(10, 15)),
        (ann, "paused", "lunch", at(12)), (ann, "paused", "break", at(13)),  # reason change
        (ann, "offline", "", at(13, 20)),
        # bob: break 09:00-09:05, then on day 1 missed from 08:00, still paused
        (bob, "paused", "break", at(9)), (bob, "ready", "", at(9, 5)),
        (bob, "paused", "missed", at(8, day=1)),
    ]
    await pool.executemany("INSERT INTO agent_state_changes (agent_id, state, reason, at)"
                           " VALUES ($1, $2, $3, $4)", rows)


async def test_given_history_when_day_zero_then_time_and_count_by_agent_and_reason(
        pool: asyncpg.Pool, history: None) -> None:
    rows = await pause_kpis(pool, DAY, DAY + timedelta(days=1), now=at(9, day=1))
    got = {(r.agent_id, r.day, r.reason): (r.count, r.seconds) for r in rows}
    assert got == {("ann", date(2026, 4, 6), "lunch"): (1, 90 * 60.0),  # 30 min carried + 60 min
                   ("ann", date(2026, 4, 6), "break"): (2, 35 * 60.0),
                   ("bob", date(2026, 4, 6), "break"): (1, 5 * 60.0)}
    assert by_reason(rows) == [{"reason": "lunch", "count": 1, "seconds": 5400.0},
                               {"reason": "break", "count": 3, "seconds": 2400.0}]


async def test_given_running_pause_then_counted_up_to_now(pool: asyncpg.Pool, history: None) -> None:
    rows = await pause_kpis(pool, DAY + timedelta(days=1), DAY + timedelta(days=2), now=at(8, 45, day=1))
    assert [(r.agent_id, r.reason, r.count, r.seconds) for r in rows] == [("bob", "missed", 1, 45 * 60.0)]


async def test_given_local_time_zone_then_days_are_local(pool: asyncpg.Pool, history: None) -> None:
    # 23:00 UTC on day -1 is 07:00 on day 0 in Shanghai: the whole lunch falls on day 0 there
    rows = await pause_kpis(pool, DAY - timedelta(hours=8), DAY + timedelta(hours=16),
                            now=at(9, day=1), tz="Asia/Shanghai")
    lunch = [r for r in rows if r.agent_id == "ann" and r.reason == "lunch"]
    assert [(r.day, r.count, r.seconds) for r in lunch] == [(date(2026, 4, 6), 2, 150 * 60.0)]


async def test_given_bad_arguments_then_kpi_error(pool: asyncpg.Pool) -> None:
    with pytest.raises(KpiError, match="time zone"):
        await pause_kpis(pool, DAY, DAY + timedelta(days=1), DAY, tz="Mars/Olympus")
    with pytest.raises(KpiError, match="end after"):
        await pause_kpis(pool, DAY, DAY, DAY)
