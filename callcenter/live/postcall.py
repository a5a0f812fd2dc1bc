"""At hang-up the live transcript becomes the call's transcript, and QA scores it at once.

When a streamed call ends, the segments still being decoded are waited for (a few seconds at
most), then the live utterances are stored as the call's transcript (model ``live:<model>``)
with a ``qa`` job, in one transaction, unless a transcript is already there. The post-call pass
over the recordings may refine it later: it replaces the utterances and scores the call again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import structlog

from callcenter.jobs.queue import JobQueue
from callcenter.live import store
from callcenter.runtime.tasks import Tasks

log = structlog.get_logger("callcenter.live")

SETTLE_TURNS = 75
SETTLE_EVERY_S = 0.2


class PostCall:
    def __init__(self, pool: asyncpg.Pool, queue: JobQueue) -> None:
        self._pool = pool
        self._queue = queue
        self._tasks = Tasks(redact=True)  # failures logged by type: an insert may echo the words
        self.stored = 0

    def on_ended(self, call_id: str) -> None:
        self._tasks.spawn(self.finish(call_id))

    async def finish(self, call_id: str) -> bool:
        """Store the live transcript as the call's; False when there was nothing to store."""
        try:
            for _ in range(SETTLE_TURNS):
                if await store.pending_segments(self._pool, call_id) == 0:
                    break
                await asyncio.sleep(SETTLE_EVERY_S)
            done = await self._store(call_id)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("live_transcript_not_stored", call_id=call_id, error=type(exc).__name__)
            return False
        self.stored += done
        return done

    async def _store(self, call_id: str) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            call = await conn.fetchval("SELECT id FROM calls WHERE linkedid = $1", call_id)
            if call is None or await conn.fetchval("SELECT 1 FROM transcripts WHERE call_id = $1", call):
                return False
            rows = await conn.fetch(
                """SELECT speaker, start_s, end_s, text, words, model FROM live_utterances
                   WHERE linkedid = $1 AND kind = 'speech' AND text <> '' ORDER BY start_s, id""", call_id)
            if not rows:
                return False
            await conn.executemany(
                """INSERT INTO utterances (call_id, seq, speaker, start_s, end_s, text, words)
                   VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)""",
                [(call, seq, r["speaker"], r["start_s"], r["end_s"], r["text"], _json(r["words"]))
                 for seq, r in enumerate(rows)])
            await conn.execute(
                """INSERT INTO transcripts (call_id, model, language, audio_s, decode_s)
                   VALUES ($1, $2, '', $3, 0)""",
                call, f"live:{rows[0]['model']}", max(r["end_s"] for r in rows))
            await self._queue.enqueue("qa", str(call), {"call_id": call}, conn=conn, again=True)
        log.info("live_transcript_stored", call_id=call_id, utterances=len(rows))
        return True

    async def close(self) -> None:
        await self._tasks.cancel_all()


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
