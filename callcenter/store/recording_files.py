"""A call's recordings, the gaps in them and its transcript, as the web serves them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class Recording:
    id: int
    kind: str
    status: str
    duration_s: float | None
    size_bytes: int | None
    started_at: datetime | None


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch not recorded (paused for payment data): why, by whom, when."""

    reason: str
    actor: str | None
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordingFile:
    path: str
    status: str
    call_id: int
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class Transcript:
    """The transcript's metadata (``done`` False while pending) and its utterances in order."""

    done: bool
    model: str | None
    audio_s: float | None
    utterances: list[dict[str, Any]]


async def recordings(pool: asyncpg.Pool, call_id: int, *, final_only: bool = False) -> list[Recording]:
    rows = await pool.fetch(
        "SELECT id, kind, status, duration_s, size_bytes, started_at FROM recordings"
        f" WHERE call_id = $1 {'AND status = $2' if final_only else ''} ORDER BY id",
        *((call_id, "final") if final_only else (call_id,)))
    return [Recording(r["id"], r["kind"], r["status"], r["duration_s"], r["size_bytes"], r["started_at"])
            for r in rows]


async def gaps(pool: asyncpg.Pool, call_id: int) -> list[Gap]:
    rows = await pool.fetch("SELECT reason, actor, started_at, ended_at FROM recording_gaps"
                            " WHERE call_id = $1 ORDER BY started_at", call_id)
    return [Gap(r["reason"], r["actor"], r["started_at"], r["ended_at"]) for r in rows]


async def recording_file(pool: asyncpg.Pool, recording_id: int) -> RecordingFile | None:
    row = await pool.fetchrow(
        "SELECT r.path, r.status, r.call_id, c.agent_id FROM recordings r JOIN calls c ON c.id = r.call_id"
        " WHERE r.id = $1", recording_id)
    return None if row is None else RecordingFile(row["path"], row["status"], row["call_id"], row["agent_id"])


async def transcript(pool: asyncpg.Pool, call_id: int) -> Transcript:
    meta = await pool.fetchrow("SELECT model, audio_s FROM transcripts WHERE call_id = $1", call_id)
    rows = await pool.fetch("SELECT seq, speaker, start_s, end_s, text, words FROM utterances"
                            " WHERE call_id = $1 ORDER BY seq", call_id)
    return Transcript(meta is not None, meta["model"] if meta else None, meta["audio_s"] if meta else None,
                      [{"seq": r["seq"], "speaker": r["speaker"], "start": r["start_s"], "end": r["end_s"],
                        "text": r["text"], "words": json.loads(r["words"])} for r in rows])
