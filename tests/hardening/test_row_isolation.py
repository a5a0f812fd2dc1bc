"""A value the database cannot store is isolated to its row: logged with the call id, counted,
and the rest of the batch (and every later batch) is written."""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.calls.ivr_log import IvrLog
from callcenter.calls.model import Call, CallState, Leg, Outcome, Side
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.metrics import Metrics
from callcenter.store.events import EventLogWriter

NOW = 1_760_000_000.0


@pytest.fixture
def pool(fresh_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A database of this test's own (rows counted from zero)."""
    return fresh_pool


def a_call(linkedid: str, *, name: str = "Ann", cause: int | None = 16,
           arrived_at: float = NOW) -> Call:
    call = Call(linkedid, arrived_at, caller_uniqueid=linkedid, state=CallState.ENDED, outcome=Outcome("ivr_hangup"),
                ended_at=NOW + 5, hangup_cause=cause)
    call.legs[linkedid] = Leg(linkedid, f"PJSIP/trunk-{linkedid}", linkedid, "caller", Side.CALLER,
                              NOW, caller_number="555\x00", caller_name=name, hangup_cause=cause)
    return call


def rejected(metrics: Metrics, writer: str) -> float:
    value = metrics.registry.get_sample_value("callcenter_db_rows_rejected_total", {"writer": writer})
    return value or 0.0


async def test_given_nul_and_out_of_range_cause_when_saved_then_the_batch_is_stored(
        pool: asyncpg.Pool) -> None:
    store = CallStore(pool, Metrics())
    await store.save_calls([a_call("1.1", name="Eve\x00\ud800", cause=2**40), a_call("1.2")])
    rows = {r["linkedid"]: r for r in await pool.fetch("SELECT * FROM calls")}
    assert set(rows) == {"1.1", "1.2"}
    assert rows["1.1"]["caller_name"] == "Eve\ufffd\ufffd" and rows["1.1"]["hangup_cause"] is None
    assert rows["1.2"]["hangup_cause"] == 16
    legs = await pool.fetch("SELECT uniqueid, hangup_cause FROM call_legs ORDER BY uniqueid")
    assert [(r["uniqueid"], r["hangup_cause"]) for r in legs] == [("1.1", None), ("1.2", 16)]


async def test_given_an_unstorable_call_then_only_it_is_left_out_logged_and_counted(
        pool: asyncpg.Pool) -> None:
    metrics = Metrics()
    store = CallStore(pool, metrics)
    await store.save_calls([a_call("2.1"), a_call("2.2", arrived_at=1e300), a_call("2.3")])
    assert {r["linkedid"] for r in await pool.fetch("SELECT linkedid FROM calls")} == {"2.1", "2.3"}
    assert store.rejected == 1 and rejected(metrics, "calls") == 1


async def test_given_a_bad_call_in_the_recorder_then_later_batches_are_still_written(
        pool: asyncpg.Pool) -> None:
    tracker = CallTracker()
    recorder = CallRecorder(tracker, EventLogWriter(pool), CallStore(pool))
    tracker.calls["3.1"] = a_call("3.1", arrived_at=1e300)
    tracker.calls["3.2"] = a_call("3.2", name="\x00")
    recorder.mark_changed({"3.1", "3.2"})
    await recorder.flush()
    tracker.calls["3.3"] = a_call("3.3")
    recorder.mark_changed({"3.3"})
    await recorder.flush()
    assert {r["linkedid"] for r in await pool.fetch("SELECT linkedid FROM calls")} == {"3.2", "3.3"}


async def test_given_nul_in_an_ivr_step_then_the_journal_of_other_calls_is_written(
        pool: asyncpg.Pool) -> None:
    metrics = Metrics()
    await CallStore(pool).save_calls([a_call("4.1"), a_call("4.2"), a_call("4.3")])
    journal = IvrLog(pool, metrics=metrics)
    await journal.append_path("4.1", [{"node": "menu", "input": "1\x00\ud83d"}])
    await journal.update_context("4.1", {"caller\x00": "agi_callerid\x00"})
    await journal.append_path("4.2", [{"node": "menu"}])
    await journal.update_context("4.2", {"score": float("nan")})  # jsonb refuses NaN
    await journal.append_path("4.3", [{"node": "goodbye"}])
    await journal.flush()
    rows = {r["linkedid"]: r for r in await pool.fetch("SELECT linkedid, ivr_path::text AS p,"
                                                       " context::text AS c FROM calls")}
    assert "menu" in rows["4.1"]["p"] and "\\u0000" not in rows["4.1"]["c"]
    assert "goodbye" in rows["4.3"]["p"]
    assert rows["4.2"]["p"] == "[]"
    assert journal.rejected == 1 and rejected(metrics, "ivr_journal") == 1
    await journal.append_path("4.2", [{"node": "later"}])
    await journal.flush()
    assert "later" in await pool.fetchval("SELECT ivr_path::text FROM calls WHERE linkedid = '4.2'")


async def test_an_event_row_the_database_refuses_is_counted_in_metrics_and_the_rest_stored(
        pool: asyncpg.Pool) -> None:
    from datetime import UTC, datetime

    from callcenter.store.events import EventRow

    metrics = Metrics()
    events = EventLogWriter(pool)
    recorder = CallRecorder(CallTracker(), events, CallStore(pool), metrics)
    at = datetime.now(UTC)
    events.add(EventRow("5.1", "5.1", 2**40, "Newchannel", "Event: Newchannel", at))  # seq beyond int
    events.add(EventRow("5.2", "5.2", 1, "Newchannel", "Event: Newchannel", at))
    await recorder.flush()
    assert await pool.fetchval("SELECT count(*) FROM call_events WHERE scope = '5.2'") == 1
    assert rejected(metrics, "event_log") == 1
    events.add(EventRow("5.3", "5.3", 1, "Hangup", "Event: Hangup", at))
    await recorder.flush()
    assert await pool.fetchval("SELECT count(*) FROM call_events WHERE scope = '5.3'") == 1
