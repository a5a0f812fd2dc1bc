"""The service level stays within [0, 1] whatever the stored call rows look like."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from callcenter.kpi.report import GROUPINGS, call_kpis
from tests.kpi.test_report import add_call

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 2, tzinfo=UTC)
START, END = DAY, DAY + timedelta(days=1)
OUTCOMES = (None, "answered", "abandoned", "failed")


async def _clear(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE calls, tickets, ticket_history, customers, agents RESTART IDENTITY CASCADE")


async def test_given_answered_call_still_talking_when_only_one_finished_then_level_at_most_one(
        pool: asyncpg.Pool) -> None:
    await _clear(pool)
    # answered in 5 s, still talking: no outcome yet
    await add_call(pool, "t1", DAY + timedelta(hours=9), queued=1, answered=5, state="talking")
    await add_call(pool, "t2", DAY + timedelta(hours=9, minutes=5), queued=1, answered=6, ended=60,
                   outcome="answered")
    [total] = await call_kpis(pool, START, END)
    assert (total.answered_within_target, total.service_level) == (2, 1.0)


async def test_given_answered_call_marked_abandoned_when_wait_short_then_not_a_short_abandon(
        pool: asyncpg.Pool) -> None:
    await _clear(pool)
    await add_call(pool, "t1", DAY + timedelta(hours=9), queued=1, answered=3, ended=4, outcome="abandoned")
    [total] = await call_kpis(pool, START, END)
    assert (total.short_abandons, total.service_level) == (0, 1.0)


@pytest.mark.parametrize("seed", range(3))
async def test_given_any_call_rows_then_service_level_between_zero_and_one(pool: asyncpg.Pool,
                                                                           seed: int) -> None:
    rng = random.Random(seed)
    await _clear(pool)
    for n in range(60):
        arrived = START + timedelta(minutes=rng.randrange(0, 24 * 60))
        queued = rng.choice((None, rng.uniform(0, 30)))
        answered = rng.choice((None, rng.uniform(0, 60)))
        ended = rng.choice((None, rng.uniform(0, 400)))
        outcome = rng.choice(OUTCOMES)
        state = "ended" if ended is not None and outcome else rng.choice(("queued", "talking"))
        await add_call(pool, f"r{n}", arrived, queued=queued, answered=answered, ended=ended,
                       outcome=outcome, skill=rng.choice((None, "returns", "delivery")), state=state)
    for grouping in GROUPINGS:
        for row in await call_kpis(pool, START, END, grouping, target_s=rng.choice((0.0, 20.0, 60.0))):
            assert row.service_level is None or 0.0 <= row.service_level <= 1.0, (grouping, row)
