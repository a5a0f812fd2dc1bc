"""Closes the books on each recording after its call ends: size, duration, sha256, status.

A file that never appeared is marked ``missing`` and an empty or header-only one ``empty``
(flagged, never silently dropped). Asterisk closes MixMonitor files a moment after the hang-up,
so a file is only judged once its call has been over for ``grace_s`` seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import structlog

from callcenter.jobs.queue import JobQueue

log = structlog.get_logger("callcenter.recording")

WAV_HEADER_BYTES = 44


@dataclass(frozen=True, slots=True)
class FileFacts:
    status: str  # final, missing, empty
    size_bytes: int | None = None
    duration_s: float | None = None
    sha256: str | None = None
    problem: str = ""


def inspect_recording(path: Path) -> FileFacts:
    """Measure one recording file (blocking: call it in a thread)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return FileFacts("missing", problem="file not found")
    except OSError as exc:
        return FileFacts("missing", problem=f"cannot read: {exc.strerror}")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
        duration = frames / rate if rate else 0.0
    except (wave.Error, EOFError) as exc:
        return FileFacts("empty", size, 0.0, digest.hexdigest(), problem=f"not a WAV file: {exc}")
    if size <= WAV_HEADER_BYTES or duration <= 0:
        return FileFacts("empty", size, duration, digest.hexdigest(), problem="no audio")
    return FileFacts("final", size, round(duration, 3), digest.hexdigest())


class RecordingRegistry:
    """Finalises recordings in PostgreSQL.

    Args:
        clock: the server's time (calls' times are stamped with it, so "ended long enough
            ago" is judged by it too, also when the demo runs faster than real time).
        pool: a migrated pool.
        local_path: maps the path Asterisk wrote to the path this server reads.
        grace_s: how long after the call's end a file may still be closing.
    """

    def __init__(self, pool: asyncpg.Pool, local_path: Callable[[str], Path],
                 grace_s: float = 30.0, clock: Callable[[], float] = time.time,
                 queue: JobQueue | None = None) -> None:
        self._pool = pool
        self._local = local_path
        self._grace = grace_s
        self._clock = clock
        self._queue = queue

    async def sweep(self) -> int:
        """Finalise every open recording whose call ended more than ``grace_s`` ago."""
        rows = await self._pool.fetch(
            """SELECT r.id, r.path, r.call_id FROM recordings r JOIN calls c ON c.id = r.call_id
               WHERE r.status = 'recording' AND c.ended_at IS NOT NULL AND c.ended_at < $1
               ORDER BY r.id LIMIT 500""",
            datetime.fromtimestamp(self._clock() - self._grace, UTC))
        for row in rows:
            facts = await asyncio.to_thread(inspect_recording, self._local(row["path"]))
            await self._pool.execute(
                """UPDATE recordings SET status = $2, size_bytes = $3, duration_s = $4, sha256 = $5,
                       ended_at = coalesce(ended_at, $6)
                   WHERE id = $1 AND status = 'recording'""",
                row["id"], facts.status, facts.size_bytes, facts.duration_s, facts.sha256,
                datetime.fromtimestamp(self._clock(), UTC))
            if facts.status != "final":
                log.warning("recording_flagged", recording_id=row["id"], status=facts.status,
                            problem=facts.problem)
        if self._queue is not None:
            await self._transcribe({row["call_id"] for row in rows})
        return len(rows)

    async def _transcribe(self, call_ids: set[int]) -> None:
        """Queue speech-to-text for each call whose files are all judged and one is final."""
        if not call_ids:
            return
        ready = await self._pool.fetch(
            """SELECT call_id FROM recordings WHERE call_id = ANY($1::bigint[])
               GROUP BY call_id
               HAVING bool_and(status <> 'recording') AND bool_or(status = 'final')""",
            sorted(call_ids))
        assert self._queue is not None
        for row in ready:
            await self._queue.enqueue("asr", str(row["call_id"]), {"call_id": row["call_id"]})

    async def run(self, interval_s: float = 1.0) -> None:
        while True:
            try:
                await self.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("recording_sweep_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(interval_s)


def path_mapper(monitor_dir: str, local_dir: str) -> Callable[[str], Path]:
    """Asterisk's ``monitor_dir`` seen locally as ``local_dir`` (same path when empty).

    Paths outside ``monitor_dir`` or climbing out of it with ``..`` map to a path that does not
    exist, so they end up ``missing`` instead of reading an arbitrary file.
    """
    root = Path(monitor_dir)
    local_root = Path(local_dir) if local_dir else root

    def mapper(path: str) -> Path:
        candidate = Path(path)
        try:
            relative = candidate.relative_to(root)
        except ValueError:
            return local_root / ".outside-monitor-dir"
        if ".." in relative.parts:
            return local_root / ".outside-monitor-dir"
        return local_root / relative

    return mapper
