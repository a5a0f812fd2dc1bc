"""Closes the books on each recording after its call ends: size, duration, sha256, status.

A file that never appeared is marked ``missing`` and an empty or header-only one ``empty``
(flagged, never silently dropped). Asterisk closes a MixMonitor file a moment after the
recorded channel hangs up (or after ``StopMixMonitor``, reported as ``MixMonitorStop``), and
only then writes the WAV header's sizes. So as soon as the call is stored as ended (or
MixMonitor reports it stopped) the registry is woken (:meth:`RecordingRegistry.wake`) and
finalises every file whose header says it is closed, at once; a file still open is looked at
again every ``recheck_s``, and judged as it is once its call has been over for ``grace_s``
seconds (the timed sweep is only the fallback).

With a queue and ``follow`` on, each call being recorded (the customer's and agent's files)
also gets one ``asr`` job keyed ``follow:<call id>`` at the next sweep: speech-to-text workers
transcribe its files while they grow (:mod:`asr.follow`), so little is left after hang-up.
A call whose legs are streamed to live speech-to-text (``streamed``: the calls the live service
holds, also while their streams are paused for card data or asked for again after a drop) gets
none, and a follow job still waiting for a call that became streamed is parked (``done`` and
marked ``parked``, what it decoded kept for the after-call pass): the live transcript is the
call's transcript at hang-up already, decoding it twice is CPU taken from other calls. When live
gives up on a call for good (its streams dropped too often) while it is still recorded, the call
is no longer streamed: its parked job is queued again (or a job made) and the rest is followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import wave
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import structlog

from callcenter.ami.messages import AmiEvent
from callcenter.clock import wall_time
from callcenter.jobs.queue import JobQueue
from callcenter.runtime.periodic import periodic

log = structlog.get_logger("callcenter.recording")

WAV_HEADER_BYTES = 44
# the key prefix of the ``asr`` job that transcribes a call's recordings while it goes on
FOLLOW_PREFIX = "follow:"


@dataclass(frozen=True, slots=True)
class FileFacts:
    status: str  # final, missing, empty; open while the writer has not closed it
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
    if not wav_closed(path, size):
        return FileFacts("open", size, problem="WAV header not written yet (file still open)")
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


def wav_closed(path: Path, size: int) -> bool:
    """Whether a RIFF/WAV file's header matches its length: Asterisk (and any WAV writer)
    fills the RIFF and ``data`` sizes in when it closes the file. Files that are not RIFF at
    all count as closed (they are judged by :func:`inspect_recording`)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return True
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return True
    if int.from_bytes(head[4:8], "little") + 8 != size:
        return False
    offset = 12
    while offset + 8 <= len(head):
        chunk, length = head[offset:offset + 4], int.from_bytes(head[offset + 4:offset + 8], "little")
        if chunk == b"data":
            return offset + 8 + length <= size
        offset += 8 + length + (length & 1)
    return False


class RecordingRegistry:
    """Finalises recordings in PostgreSQL.

    Args:
        clock: the server's time (calls' times are stamped with it, so "ended long enough
            ago" is judged by it too, also when the demo runs faster than real time).
        pool: a migrated pool.
        local_path: maps the path Asterisk wrote to the path this server reads.
        grace_s: how long after the call's end a file may still be closing (the fallback).
        recheck_s: how often (real seconds) files of ended calls that are still open are
            looked at again.
        streamed: the calls (Linkedid) being transcribed live, which get no ``follow:`` job.
    """

    def __init__(self, pool: asyncpg.Pool, local_path: Callable[[str], Path],
                 grace_s: float = 30.0, clock: Callable[[], float] = wall_time,
                 queue: JobQueue | None = None, recheck_s: float = 0.2, follow: bool = False,
                 streamed: Callable[[], Collection[str]] = frozenset) -> None:
        self._pool = pool
        self._local = local_path
        self._grace = grace_s
        self._clock = clock
        self._queue = queue
        self._recheck = recheck_s
        self._follow = follow
        self._streamed = streamed
        self._wake = asyncio.Event()
        self.waiting = 0  # recordings of ended calls whose files are still open
        self.finalised = 0

    def follow_unless(self, streamed: Callable[[], Collection[str]]) -> None:
        """Calls being transcribed live (built after the registry) get no ``follow:`` job."""
        self._streamed = streamed

    def wake(self) -> None:
        """A call was stored as ended, or MixMonitor stopped: look at its files now."""
        self._wake.set()

    def on_ami_event(self, event: AmiEvent) -> None:
        """``MixMonitorStop``: Asterisk has stopped a recording (its file is being closed)."""
        if event.name == "MixMonitorStop":
            self._wake.set()

    async def sweep(self) -> int:
        """Finalise the recordings of ended calls: each file whose writer has closed it at once,
        the others once their call ended more than ``grace_s`` ago. Returns how many."""
        rows = await self._pool.fetch(
            """SELECT r.id, r.path, r.call_id, c.ended_at < $1 AS overdue
               FROM recordings r JOIN calls c ON c.id = r.call_id
               WHERE r.status = 'recording' AND c.ended_at IS NOT NULL
               ORDER BY r.id LIMIT 500""",
            datetime.fromtimestamp(self._clock() - self._grace, UTC))
        done: list[asyncpg.Record] = []
        waiting = 0
        for row in rows:
            facts = await asyncio.to_thread(inspect_recording, self._local(row["path"]))
            if facts.status != "final" and not row["overdue"]:
                waiting += 1  # Asterisk may still be closing it: look again soon
                continue
            if facts.status == "open":
                facts = FileFacts("empty", facts.size_bytes, 0.0, None,
                                  problem="never closed: " + facts.problem)
            done.append(row)
            await self._pool.execute(
                """UPDATE recordings SET status = $2, size_bytes = $3, duration_s = $4, sha256 = $5,
                       ended_at = coalesce(ended_at, $6)
                   WHERE id = $1 AND status = 'recording'""",
                row["id"], facts.status, facts.size_bytes, facts.duration_s, facts.sha256,
                datetime.fromtimestamp(self._clock(), UTC))
            if facts.status != "final":
                log.warning("recording_flagged", recording_id=row["id"], status=facts.status,
                            problem=facts.problem)
        self.waiting = waiting
        self.finalised += len(done)
        if self._queue is not None:
            await self._transcribe({row["call_id"] for row in done})
            if self._follow:
                await self._follow_recording()
        return len(done)

    async def _follow_recording(self) -> None:
        """One ``follow:`` job for each call being recorded that has none yet and is not
        transcribed live; the waiting one of a call transcribed live is parked (marked so), and
        a parked one whose call is recorded but no longer transcribed live (live gave up on it)
        is queued again, its progress kept."""
        streamed = sorted(self._streamed())
        if streamed:
            await self._pool.execute(
                """UPDATE jobs j SET status = 'done', finished_at = now(),
                       payload = j.payload || '{"parked": true}'::jsonb FROM calls c
                   WHERE c.linkedid = ANY($2::text[]) AND j.kind = 'asr' AND j.key = $1 || c.id::text
                     AND j.status = 'queued'""", FOLLOW_PREFIX, streamed)
        unparked = await self._pool.execute(
            """UPDATE jobs j SET status = 'queued', run_after = now(), attempts = 0, finished_at = NULL,
                   payload = j.payload - 'parked' FROM calls c
               WHERE j.kind = 'asr' AND j.key = $1 || c.id::text AND j.status = 'done'
                 AND j.payload ? 'parked' AND c.ended_at IS NULL AND c.linkedid <> ALL($2::text[])
                 AND EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id AND r.status = 'recording'
                             AND r.kind IN ('customer', 'agent'))""", FOLLOW_PREFIX, streamed)
        assert self._queue is not None
        if not str(unparked).endswith(" 0"):
            await self._queue.notify("asr")
        rows = await self._pool.fetch(
            """SELECT DISTINCT r.call_id FROM recordings r JOIN calls c ON c.id = r.call_id
               WHERE r.status = 'recording' AND c.ended_at IS NULL AND r.kind IN ('customer', 'agent')
                 AND c.linkedid <> ALL($2::text[])
                 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'asr'
                                 AND j.key = $1 || r.call_id::text)""", FOLLOW_PREFIX, streamed)
        for row in rows:
            await self._queue.enqueue("asr", f"{FOLLOW_PREFIX}{row['call_id']}", {"call_id": row["call_id"]})

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
        """Sweep when woken, every ``recheck_s`` while files of ended calls are still open,
        and every ``interval_s`` anyway (the fallback)."""
        await periodic("recordings", lambda: self._recheck if self.waiting else interval_s, self.sweep,
                       wake=self._wake, first_wait=False,
                       retry_on=(OSError, asyncpg.PostgresError, asyncpg.InterfaceError))


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
