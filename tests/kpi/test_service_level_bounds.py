"""The service level stays within [0, 1] whatever the stored call rows look like."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# seconds after arrival: around the 5 s short-abandon and 20 s target thresholds, or never
offsets = st.one_of(st.none(), st.sampled_from((0.0, 3.0, 10.0, 20.0, 25.0, 90.0)),
                    st.floats(min_value=0, max_value=600, allow_nan=False))
call_rows = st.tuples(st.integers(min_value=0, max_value=24 * 60 - 1), offsets, offsets, offsets,
                      st.sampled_from(OUTCOMES), st.sampled_from((None, "returns", "delivery")),
                      st.sampled_from(("queued", "talking")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(call_rows, max_size=20), target_s=st.sampled_from((0.0, 20.0, 60.0)))
async def test_given_any_call_rows_then_service_level_between_zero_and_one(
        pool: asyncpg.Pool, rows: list[tuple[Any, ...]], target_s: float) -> None:
    await _clear(pool)
    for n, (minute, queued, answered, ended, outcome, skill, live_state) in enumerate(rows):
        state = "ended" if ended is not None and outcome else live_state
        await add_call(pool, f"r{n}", START + timedelta(minutes=minute), queued=queued, answered=answered,
                       ended=ended, outcome=outcome, skill=skill, state=state)
    for grouping in GROUPINGS:
        for row in await call_kpis(pool, START, END, grouping, target_s=target_s):
            assert row.service_level is None or 0.0 <= row.service_level <= 1.0, (grouping, row)
