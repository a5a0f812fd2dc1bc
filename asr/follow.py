"""Transcribing a call's recordings while the call goes on, so that at hang-up only the last
words are left to decode.

While a call is recorded, the server queues one ``asr`` job for it keyed ``follow:<call id>``
(:class:`~callcenter.recording.registry.RecordingRegistry`; not for a call transcribed live).
A worker that takes it reads what MixMonitor has added to the customer's and the agent's
files since the last turn (and the talk not closed yet: :mod:`asr.tracking`; how far each file
was read is kept in the job's payload, ``read``, by file), finds the speech segments that are closed
(:mod:`asr.chunks`), decodes those not decoded yet (at most
``BUDGET_S`` seconds of speech per turn), masks them, and keeps them in the job's payload
(``segments``, by file too: a transferred call has two agent files whose times each count from
their own start, so one file's segment is never taken for the other's); in
the same transaction the job is queued again ``asr.follow_s`` later (at once when segments
were left over), until the call has ended. Workers take these jobs only when no ended call is
waiting (:meth:`AsrWorker.claim`), so they use the time between calls. After hang-up, the
call's own ``asr`` job takes every segment decoded here whose bounds the whole file's gate
gives again, decodes the rest, and deletes this job with the transcript stored.
Only mono 16-bit PCM files (what Asterisk's MixMonitor writes) and Whisper engines are
followed; anything else is transcribed after the call as before. A file that is there but can
never be followed (another format, a broken header) is a rejection, logged and counted once:
its ``read`` entry says so and later turns leave it alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from asr import chunks
from asr.engines import Engines, WhisperEngine
from asr.growing import GrowingWav, TrackSource, UnsupportedTrack
from asr.redact import RedactionRules, redact, redacted_to_json
from asr.tracking import TrackState, advance
from callcenter.jobs.queue import Job, JobQueue
from callcenter.jobs.worker import LeaseLost
from callcenter.recording.registry import FOLLOW_PREFIX
from callcenter.settings import AsrSettings
from callcenter.store.rows import stored_object

log = structlog.get_logger("asr.follow")

BUDGET_S = 20.0  # seconds of speech decoded per turn
SPEAKERS = ("customer", "agent")

CALL_STATE = """
SELECT c.ended_at IS NULL AND EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id
                                      AND r.status = 'recording') AS recording,
       coalesce(nullif(c.context->>'language', ''), cu.language, '') AS language
FROM calls c LEFT JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1"""


class Follower:
    """The ``follow:`` jobs of an ASR worker (it shares the worker's engines and threads)."""

    def __init__(self, pool: asyncpg.Pool, queue: JobQueue, engines: Engines, settings: AsrSettings,
                 local: Callable[[str], Path], executor: Executor, rules: RedactionRules,
                 open_track: Callable[[Path], TrackSource] = GrowingWav,
                 on_rejected: Callable[[], None] = lambda: None) -> None:
        self._open = open_track
        self._on_rejected = on_rejected
        self._pool = pool
        self._queue = queue
        self._engines = engines
        self._settings = settings
        self._local = local
        self._executor = executor
        self._rules = rules

    async def decoded(self, call_id: int, model: str, language: str) -> dict[str, list[chunks.Decoded]]:
        """Per file (its local path, as the recording's path maps to it), the segments decoded
        during the call with this model and language."""
        payload = await self._pool.fetchval("SELECT payload FROM jobs WHERE kind = 'asr' AND key = $1",
                                            f"{FOLLOW_PREFIX}{call_id}")
        data = stored_object(payload)
        if data.get("model") != model or data.get("language") != language:
            return {}
        segments = stored_object(data.get("segments"))
        return {path: chunks.from_json(rows) for path, rows in segments.items()}

    async def process(self, job: Job, worker_id: str) -> None:
        call_id = int(job.payload["call_id"])
        state = await self._pool.fetchrow(CALL_STATE, call_id)
        if state is None or not state["recording"]:
            await self._save(job, worker_id, call_id, dict(job.payload), more=False)
            return
        language = self._engines.language_for(str(state["language"] or ""))
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(self._executor, self._engines.get, language)
        payload = dict(job.payload)
        if not isinstance(engine, WhisperEngine):
            await self._save(job, worker_id, call_id, payload, more=False)
            return
        if payload.get("model") != engine.name or payload.get("language") != language:
            payload.update(model=engine.name, language=language, segments={}, read={})
        segments = stored_object(payload.get("segments"))
        read = stored_object(payload.get("read"))
        budget = BUDGET_S
        for speaker, path in await self._tracks(call_id):
            key = str(path)  # by file: a transferred call has two agent files
            if _rejected(read.get(key)):
                continue
            done = chunks.from_json(segments.get(key))
            try:
                new, state = await loop.run_in_executor(
                    self._executor, self._decode, engine, speaker, path, language, done, budget,
                    _state(read.get(key), speaker))
            except UnsupportedTrack as exc:
                read[key] = {"rejected": str(exc)}
                self._on_rejected()
                log.warning("asr_follow_track_rejected", speaker=speaker, problem=str(exc))
                continue
            budget -= sum(d.segment.duration for d in new)
            segments[key] = chunks.to_json(chunks.merged(done, new))
            if state is not None:
                read[key] = state.to_json()
        payload["segments"] = segments
        payload["read"] = read
        await self._save(job, worker_id, call_id, payload, more=budget <= 0)

    async def _tracks(self, call_id: int) -> list[tuple[str, Path]]:
        rows = await self._pool.fetch(
            """SELECT kind, path FROM recordings WHERE call_id = $1 AND status = 'recording'
               AND kind = ANY($2::text[]) ORDER BY id""", call_id, list(SPEAKERS))
        return [(row["kind"], self._local(row["path"])) for row in rows]

    def _decode(self, engine: WhisperEngine, speaker: str, path: Path, language: str,
                done: list[chunks.Decoded], budget_s: float, state: TrackState | None
                ) -> tuple[list[chunks.Decoded], TrackState | None]:
        """Blocking: the closed segments of the file so far that are not decoded yet, and how
        far it is read now."""
        if budget_s <= 0:
            return [], state
        return follow_track(engine, speaker, self._open(path), str(path), language, done, budget_s, state,
                            self._rules, self._settings.keep_unredacted)

    async def _save(self, job: Job, worker_id: str, call_id: int, payload: dict[str, Any], *,
                    more: bool) -> None:
        """Keep the progress; queue the job again while the call is still recorded."""
        async with self._pool.acquire() as conn, conn.transaction():
            state = await conn.fetchrow(CALL_STATE, call_id)
            if state is not None and state["recording"] and self._settings.follow_s > 0:
                saved = await self._queue.checkpoint(job, worker_id, conn, payload,
                                                     0.0 if more else self._settings.follow_s)
            else:
                saved = await self._queue.complete(job, worker_id, conn)
                await conn.execute("UPDATE jobs SET payload = $2::jsonb WHERE id = $1", job.id,
                                   json.dumps(payload))
            if not saved:
                raise LeaseLost
        segments = stored_object(payload.get("segments"))
        log.debug("asr_follow_saved", segments=sum(len(v) for v in segments.values()))


def _rejected(value: Any) -> bool:
    """Whether a file's ``read`` entry says it can never be followed."""
    return isinstance(value, dict) and "rejected" in value


def _state(value: Any, speaker: str) -> TrackState | None:
    state = TrackState.from_json(value)
    if state is None and value is not None:
        log.warning("asr_follow_state_unreadable", speaker=speaker)  # the track is read again from its start
    return state


def follow_track(engine: WhisperEngine, speaker: str, source: TrackSource, path: str, language: str,
                 done: list[chunks.Decoded], budget_s: float, state: TrackState | None,
                 rules: RedactionRules, keep_original: bool = False
                 ) -> tuple[list[chunks.Decoded], TrackState | None]:
    """Blocking: one turn on one growing track: read what was added since ``state``, decode
    the closed segments not ``done`` yet (up to ``budget_s`` seconds of them), masked; returns
    them and the state for the next turn (``state`` when nothing could be read).

    Raises:
        UnsupportedTrack: the file can never be followed (see :func:`asr.tracking.advance`).
    """
    turn = advance(source, path, state)
    if turn is None:
        return [], state
    out: list[chunks.Decoded] = []
    for segment in chunks.to_decode(turn.closed, done, budget_s):
        utterance = engine.decode_clip(speaker, turn.clip(segment), turn.state.rate, segment, language)
        masked = None if utterance is None else redacted_to_json(redact([utterance], rules)[0], keep_original)
        out.append(chunks.Decoded(segment, masked))
    return out, turn.settle([*done, *out])
