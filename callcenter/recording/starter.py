"""Carries out the recording policy on the AMI link: MixMonitor when a call is bridged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.events import Bridged, CallEvent
from callcenter.calls.model import Call
from callcenter.recording.policy import RecordingPolicy

log = structlog.get_logger("callcenter.recording")


class RecordingStarter:
    """Sends MixMonitor when a call is bridged (the policy says whether, and only while the
    call has no recording yet); never blocks the caller.

    Args:
        policy: what to record, and where.
        send: the AMI link's ``send``.
        call_of: the tracker's call for a call id.
    """

    def __init__(self, policy: RecordingPolicy, send: Callable[[Action], Awaitable[AmiResponse]],
                 call_of: Callable[[str], Call | None]) -> None:
        self._policy = policy
        self._send = send
        self._call_of = call_of
        self._tasks: set[asyncio.Task[None]] = set()

    def on_call_event(self, event: CallEvent) -> None:
        """Dispatcher subscriber (the recording stage)."""
        if not isinstance(event, Bridged):
            return
        call = self._call_of(event.call_id)
        action = self._policy.start_action(call) if call is not None else None
        if action is None:
            return
        task = asyncio.get_running_loop().create_task(self._start(event.call_id, action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, linkedid: str, action: Action) -> None:
        try:
            await self._send(action)
        except AmiError as exc:
            log.warning("recording_not_started", call_id=linkedid, error=str(exc))
