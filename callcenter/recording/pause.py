"""Pausing a call's recording while payment data is given, and remembering why.

MixMonitorMute (``Direction: both``) silences every file of the call for the span; the files
keep their length, so transcripts and QA keep their timing (the ``recording_pause`` capture).
Each pause is stored in ``recording_gaps`` with its reason and who asked, so QA knows why audio
is missing. A pause of a call that is not being recorded (still in the IVR) is a no-op.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import structlog

from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.model import Call
from callcenter.recording.policy import RecordingPolicy

log = structlog.get_logger("callcenter.recording")

REASONS = ("payment_ivr", "agent_pause", "supervisor_pause")


class PauseError(Exception):
    """The pause could not be applied; the message says why."""


class RecordingPauser:
    def __init__(self, policy: RecordingPolicy, send: Callable[[Action], Awaitable[AmiResponse]],
                 pool: asyncpg.Pool, calls: Callable[[str], Call | None],
                 clock: Callable[[], float]) -> None:
        self._policy = policy
        self._send = send
        self._pool = pool
        self._calls = calls
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    async def set_paused(self, linkedid: str, paused: bool, reason: str, actor: str = "") -> bool:
        """Mute or unmute the call's recording. Returns False when the call is not recorded.

        Raises:
            PauseError: unknown reason, unknown or ended call, or Asterisk refused.
        """
        if reason not in REASONS:
            raise PauseError(f"unknown pause reason {reason!r}")
        call = self._calls(linkedid)
        if call is None or not call.live:
            raise PauseError("the call is not live")
        action = self._policy.mute_action(call, paused)
        if action is None:
            return False
        try:
            response = await self._send(action)
        except AmiError as exc:
            raise PauseError(f"Asterisk did not apply it: {exc}") from None
        if not response.ok:
            raise PauseError(f"Asterisk refused it: {response.message}")
        await self._store(linkedid, paused, reason, actor)
        log.info("recording_paused" if paused else "recording_resumed", call_id=linkedid, reason=reason)
        return True

    def on_sensitive_input(self, linkedid: str, active: bool) -> None:
        """IVR hook: a caller starts/stops keying payment data (never blocks the IVR)."""
        task = asyncio.get_running_loop().create_task(self._ivr(linkedid, active))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ivr(self, linkedid: str, active: bool) -> None:
        try:
            await self.set_paused(linkedid, active, "payment_ivr", "ivr")
        except (PauseError, asyncpg.PostgresError, OSError) as exc:
            log.warning("recording_pause_failed", call_id=linkedid, error=str(exc))

    async def _store(self, linkedid: str, paused: bool, reason: str, actor: str) -> None:
        at = datetime.fromtimestamp(self._clock(), UTC)
        if paused:
            await self._pool.execute(
                """INSERT INTO recording_gaps (call_id, reason, actor, started_at)
                   SELECT id, $2, $3, $4 FROM calls WHERE linkedid = $1
                   ON CONFLICT (call_id) WHERE ended_at IS NULL DO NOTHING""",
                linkedid, reason, actor, at)
        else:
            await self._pool.execute(
                """UPDATE recording_gaps SET ended_at = greatest($2, started_at)
                   WHERE call_id = (SELECT id FROM calls WHERE linkedid = $1) AND ended_at IS NULL""",
                linkedid, at)
