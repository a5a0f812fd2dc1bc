"""The live transcript in PostgreSQL: segments handed to the workers, gaps, the transcript so far.

A segment and its ``live_asr`` job are written in one transaction; queueing the job notifies
idle workers (the queue's own ``NOTIFY cc_jobs``, at commit), so one claims it at once (workers
also look every second, so a lost notification only costs that).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from callcenter.jobs.queue import JobQueue

LIVE_KIND = "live_asr"


async def save_segment(pool: asyncpg.Pool, queue: JobQueue, call_id: str, speaker: str, start_s: float,
                       end_s: float, speech_end_at: float, pcm: bytes) -> int:
    """Store one utterance's audio and queue it for a worker; returns the segment id."""
    async with pool.acquire() as conn, conn.transaction():
        segment = int(await conn.fetchval(
            """INSERT INTO live_segments (linkedid, speaker, start_s, end_s, speech_end_at, pcm)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            call_id, speaker, start_s, end_s, datetime.fromtimestamp(speech_end_at, UTC), pcm))
        await queue.enqueue(LIVE_KIND, str(segment), {"segment_id": segment}, conn=conn)
    return segment


async def open_gap(pool: asyncpg.Pool, call_id: str, speaker: str, at_s: float, reason: str) -> int:
    return int(await pool.fetchval(
        """INSERT INTO live_utterances (linkedid, kind, reason, speaker, start_s, end_s)
           VALUES ($1, 'gap', $2, $3, $4, $4) RETURNING id""", call_id, reason, speaker, max(0.0, at_s)))


async def close_gap(pool: asyncpg.Pool, gap_id: int, at_s: float) -> None:
    await pool.execute("UPDATE live_utterances SET end_s = greatest(start_s, $2) WHERE id = $1",
                       gap_id, at_s)


UTTERANCE_COLUMNS = """id, linkedid, kind, reason, speaker, start_s, end_s, text, words, model,
                       mentions, sentiment, sentiment_score, speech_end_at, stored_at"""


def utterance_json(row: asyncpg.Record) -> dict[str, Any]:
    words, mentions = row["words"], row["mentions"]
    return {"id": row["id"], "call_id": row["linkedid"], "kind": row["kind"], "reason": row["reason"],
            "speaker": row["speaker"], "start_s": round(row["start_s"], 2), "end_s": round(row["end_s"], 2),
            "text": row["text"], "words": json.loads(words) if isinstance(words, str) else words,
            "mentions": json.loads(mentions) if isinstance(mentions, str) else mentions,
            "sentiment": row["sentiment"], "sentiment_score": row["sentiment_score"],
            "speech_end_at": row["speech_end_at"].timestamp() if row["speech_end_at"] else None,
            "stored_at": row["stored_at"].timestamp()}


async def transcript(pool: asyncpg.Pool, call_id: str) -> list[dict[str, Any]]:
    """The call's live transcript so far, in speaking order (gaps included)."""
    rows = await pool.fetch(
        f"SELECT {UTTERANCE_COLUMNS} FROM live_utterances WHERE linkedid = $1 ORDER BY start_s, id",
        call_id)
    return [utterance_json(r) for r in rows]


async def utterances_after(pool: asyncpg.Pool, after_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """Utterances stored after ``after_id`` (the relay's cursor), oldest first."""
    rows = await pool.fetch(
        f"SELECT {UTTERANCE_COLUMNS} FROM live_utterances WHERE id > $1 ORDER BY id LIMIT $2",
        after_id, limit)
    return [utterance_json(r) for r in rows]


async def last_id(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM live_utterances"))


async def pending_segments(pool: asyncpg.Pool, call_id: str) -> int:
    """Segments of the call whose job is not finished yet."""
    return int(await pool.fetchval(
        """SELECT count(*) FROM live_segments s JOIN jobs j ON j.kind = $2 AND j.key = s.id::text
           WHERE s.linkedid = $1 AND j.status IN ('queued', 'running')""", call_id, LIVE_KIND))
