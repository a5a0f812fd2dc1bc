"""Persists what the tracker learns: the raw event log and the calls, in batches.

Hot path (every AMI event, from the dispatcher): give the event a place in the append-only event
log (``scope`` = the channel or bridge it is about, ``seq`` = its position in that scope), and
note which call changed. Everything touching the database happens in :meth:`CallRecorder.flush`,
so a slow or restarting database never slows down call handling; rows wait in memory
(bounded by the event log writer) and are written when it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from callcenter.ami.messages import AmiEvent
from callcenter.calls.events import CallEvent
from callcenter.calls.model import Call, Direction
from callcenter.calls.tracker import CallTracker
from callcenter.metrics import Metrics, count_caught
from callcenter.runtime.periodic import periodic
from callcenter.store.events import EventLogWriter, EventRow

log = structlog.get_logger("callcenter.calls")

_SCOPE_KEYS = ("Uniqueid", "DestUniqueid", "BridgeUniqueid")


class CallSink(Protocol):
    async def save_calls(self, calls: list[Call]) -> None: ...
    async def drop_calls(self, linkedids: list[str]) -> None: ...


def event_scope(fields: dict[str, str]) -> str:
    for key in _SCOPE_KEYS:
        value = fields.get(key)
        if value:
            return value
    return ""


class CallRecorder:
    """Event log + call rows: the persistence subscriber of the dispatcher.

    Args:
        tracker: the reducer whose calls are written (read only, and told to forget the
            ended calls once they are stored).
        events: the batched event log writer.
        calls: where changed calls are upserted.
        on_ended_saved: called with the linkedids of ended calls once their rows are written
            (their recordings can be finalised then).
    """

    def __init__(self, tracker: CallTracker, events: EventLogWriter, calls: CallSink,
                 metrics: Metrics | None = None,
                 on_ended_saved: Callable[[list[str]], None] | None = None) -> None:
        self._on_ended_saved = on_ended_saved
        self.tracker = tracker
        self._events = events
        self._calls = calls
        self._metrics = metrics
        self._seq: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._flush_lock = asyncio.Lock()
        self.flush_failures = 0
        self._events_rejected_seen = 0
        self.last_progress = time.monotonic()  # of the last flush that succeeded (watchdog)

    # --- hot path -------------------------------------------------------------------------

    def log_event(self, event: AmiEvent, call_id: str | None) -> None:
        """Give the (already redacted) event its row in the event log, filed under its call."""
        fields = event.frame.fields
        scope = event_scope(fields)
        if not scope:
            return
        seq = self._seq.get(scope, 0) + 1
        self._seq[scope] = seq
        linkedid = call_id or self.tracker.call_key_for_uniqueid(scope) or fields.get("Linkedid", "")
        self._events.add(EventRow(linkedid, scope, seq, fields.get("Event", ""),
                                  event.frame.raw, _utc(event.received_at)))

    def on_call_event(self, event: CallEvent) -> None:
        """The call changed: its row is written at the next flush."""
        self._dirty.add(event.call_id)

    def mark_changed(self, keys: set[str]) -> None:
        self._dirty |= keys

    def resume_sequences(self, stored: dict[str, int]) -> None:
        """After a restart, continue each live scope's numbering where the log stopped."""
        for scope, seq in stored.items():
            if seq > self._seq.get(scope, 0):
                self._seq[scope] = seq

    # --- batches --------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write pending events and changed calls. Raises when the database is unreachable;
        nothing is lost: what was not written stays pending for the next flush."""
        async with self._flush_lock:
            try:
                await self._events.flush()
            finally:
                self._count_rejected_events()
            # Take the changes now: calls that change while the rows are being written are
            # marked again and go in the next flush (never lost to a stale clean-up).
            taken, self._dirty = self._dirty, set()
            merged = dict(self.tracker.merged)
            dirty = {merged.get(k, k) for k in taken}
            changed = [self.tracker.calls[k] for k in dirty if k in self.tracker.calls]
            ended = [c.linkedid for c in changed if not c.live]
            try:
                await self._calls.save_calls([c for c in changed if _storable(c)])
                if merged:
                    await self._calls.drop_calls(list(merged))
            except BaseException:
                self._dirty |= taken
                raise
            if ended and self._on_ended_saved is not None:
                try:
                    self._on_ended_saved(ended)
                except Exception:
                    count_caught(self._metrics, "ended_calls_listener_failed")
                    log.exception("ended_calls_listener_failed")
            for key in merged:
                self.tracker.merged.pop(key, None)
            for key in ended:
                if key not in self._dirty:
                    self.tracker.forget(key)
            self._prune_sequences()
            if self._metrics is not None:
                self._metrics.events_pending.set(self._events.statistics()["pending"])

    def _count_rejected_events(self) -> None:
        """Event rows the database refused (logged by the writer with their call id) go to
        ``callcenter_db_rows_rejected{writer="event_log"}``."""
        rejected = self._events.statistics()["rejected"]
        if rejected > self._events_rejected_seen:
            if self._metrics is not None:
                self._metrics.db_rows_rejected.labels("event_log").inc(
                    rejected - self._events_rejected_seen)
            self._events_rejected_seen = rejected

    def _prune_sequences(self) -> None:
        if len(self._seq) < 50_000:
            return
        live = {uid for call in self.tracker.calls.values() for uid in call.legs}
        self._seq = {scope: seq for scope, seq in self._seq.items() if scope in live}

    async def run(self, interval_s: float = 0.2) -> None:
        """Flush forever; a failing database is logged once per outage, then retried."""

        async def flush() -> None:
            try:
                await self.flush()
            except Exception:
                self.flush_failures += 1
                raise
            self.last_progress = time.monotonic()

        await periodic("call-writer", interval_s, flush)

    def statistics(self) -> dict[str, Any]:
        return {"dirty_calls": len(self._dirty), "scopes": len(self._seq),
                "flush_failures": self.flush_failures, **self._events.statistics()}


def _storable(call: Call) -> bool:
    """A call with its caller's channel, or a callback (its agent's channel comes first)."""
    return bool(call.caller_uniqueid) or call.direction is Direction.CALLBACK


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
