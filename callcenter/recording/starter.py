"""Carries out the recording policy on the AMI link as calls change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.model import Call
from callcenter.recording.policy import RecordingPolicy

log = structlog.get_logger("callcenter.recording")


class RecordingStarter:
    """Sends MixMonitor once per call when it starts talking; never blocks the caller."""

    def __init__(self, policy: RecordingPolicy,
                 send: Callable[[Action], Awaitable[AmiResponse]]) -> None:
        self._policy = policy
        self._send = send
        self._started: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def on_call_changed(self, call: Call) -> None:
        if not call.live:
            self._started.discard(call.linkedid)
            return
        if call.linkedid in self._started:
            return
        action = self._policy.start_action(call)
        if action is None:
            return
        self._started.add(call.linkedid)
        task = asyncio.get_running_loop().create_task(self._start(call.linkedid, action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, linkedid: str, action: Action) -> None:
        try:
            await self._send(action)
        except AmiError as exc:
            self._started.discard(linkedid)
            log.warning("recording_not_started", call_id=linkedid, error=str(exc))
