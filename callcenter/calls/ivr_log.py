"""The IVR's record of each call (path and context) in PostgreSQL, written in batches.

The IVR runner reports steps as they happen; they are appended to ``calls.ivr_path`` and
merged into ``calls.context`` on the next flush. The call row is written by the call recorder
and may not exist yet for the first steps: those wait (a bounded number of flushes) until it
does. A survey answer (``survey.csat``) also lands in ``calls.csat``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from callcenter.metrics import Metrics
from callcenter.runtime.periodic import periodic
from callcenter.store.rows import db_json, db_text, write_isolating

log = structlog.get_logger("callcenter.calls")

_APPLY = """
UPDATE calls AS c SET ivr_path = c.ivr_path || u.path, context = c.context || u.context,
       csat = coalesce(u.csat, c.csat)
FROM unnest($1::text[], $2::jsonb[], $3::jsonb[], $4::int[]) AS u(linkedid, path, context, csat)
WHERE c.linkedid = u.linkedid
RETURNING c.linkedid
"""


@dataclass
class _Pending:
    path: list[Mapping[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0


class IvrLog:
    """Implements the IVR runner's ``IvrRecorder``: cheap to call, written by :meth:`flush`.

    A call's steps the database refuses (a value it cannot store) are logged with the call id,
    counted (``rejected``, ``callcenter_db_rows_rejected{writer="ivr_journal"}``) and dropped;
    the other calls' steps are written.

    Args:
        pool: a migrated pool.
        max_attempts: flushes a call's steps wait for its row before they are dropped (logged).
    """

    def __init__(self, pool: asyncpg.Pool, max_attempts: int = 50,
                 metrics: Metrics | None = None) -> None:
        self._pool = pool
        self._metrics = metrics
        self.rejected = 0
        self.last_progress = time.monotonic()  # of the last flush that succeeded (watchdog)
        self._pending: dict[str, _Pending] = {}
        self._max_attempts = max_attempts
        self._lock = asyncio.Lock()

    async def append_path(self, call_id: str, entries: Sequence[Mapping[str, Any]]) -> None:
        self._pending.setdefault(call_id, _Pending()).path.extend(entries)

    async def update_context(self, call_id: str, values: Mapping[str, Any]) -> None:
        self._pending.setdefault(call_id, _Pending()).context.update(values)

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, {}
            ids = list(batch)
            written: set[str] = set()
            rejected: set[str] = set()

            async def write(part: Sequence[str]) -> int:
                rows = await self._pool.fetch(
                    _APPLY, [db_text(k) for k in part], [db_json(batch[k].path) for k in part],
                    [db_json(batch[k].context) for k in part],
                    [_csat(batch[k].context.get("survey.csat")) for k in part])
                written.update(r["linkedid"] for r in rows)
                return len(rows)

            def reject(call_id: str, exc: BaseException) -> None:
                rejected.add(call_id)
                self.rejected += 1
                if self._metrics is not None:
                    self._metrics.db_rows_rejected.labels("ivr_journal").inc()
                log.error("ivr_steps_rejected", call_id=call_id, steps=len(batch[call_id].path),
                          error=f"{type(exc).__name__}: {exc}"[:300])

            try:
                await write_isolating(ids, write, reject)
            except BaseException:
                self._requeue(batch, [k for k in ids if k not in written and k not in rejected])
                raise
            self._requeue(batch, [k for k in ids if k not in written and k not in rejected])

    def _requeue(self, batch: dict[str, _Pending], ids: list[str]) -> None:
        for call_id in ids:
            item = batch[call_id]
            item.attempts += 1
            if item.attempts > self._max_attempts:
                log.warning("ivr_steps_dropped", call_id=call_id, steps=len(item.path))
                continue
            newer = self._pending.get(call_id)
            if newer is not None:
                item.path.extend(newer.path)
                item.context.update(newer.context)
            self._pending[call_id] = item

    async def run(self, interval_s: float = 0.5) -> None:
        """Flush forever; a failing database is logged once per outage, then retried."""

        async def flush() -> None:
            await self.flush()
            self.last_progress = time.monotonic()

        await periodic("ivr-journal", interval_s, flush)


def _csat(value: Any) -> int | None:
    try:
        score = int(value)
    except (TypeError, ValueError):
        return None
    return score if 1 <= score <= 5 else None
