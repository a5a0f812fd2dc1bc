"""The supervisors' live feed: every live call's transcript so far and its alerts.

Events carry increasing sequence numbers and the last ``keep`` are kept, so a wallboard that
lost its socket asks for what came after its last number (``since``); one too far behind gets a
snapshot (each live call's recent transcript and alerts). A listener that does not keep up (its
queue is full) is marked ``lagged`` and gets nothing more: its socket is closed, so the wallboard
reconnects and catches up instead of freezing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TRANSCRIPT_KEEP = 40


@dataclass(eq=False)  # each listener is itself (kept in a set)
class Listener:
    """One socket's feed: ``queue`` of events, ``lagged`` once an event did not fit in it."""

    queue: asyncio.Queue[dict[str, Any]]
    lagged: bool = False


@dataclass
class BoardCall:
    agent: str | None
    transcript: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=TRANSCRIPT_KEEP))
    alerts: list[dict[str, Any]] = field(default_factory=list)


class LiveBoard:
    def __init__(self, clock: Callable[[], float], keep: int = 500) -> None:
        self._clock = clock
        self._keep = keep
        self.seq = 0
        self.events: deque[dict[str, Any]] = deque()
        self.calls: dict[str, BoardCall] = {}
        self._listeners: set[Listener] = set()
        self.lagged = 0  # listeners cut off because they fell behind

    def utterance(self, u: dict[str, Any], agent: str | None) -> None:
        call = self.calls.setdefault(u["call_id"], BoardCall(agent))
        call.agent = agent or call.agent
        call.transcript.append(u)
        self.publish({"type": "live_utterance", "agent": call.agent, **u})

    def alert(self, alert: dict[str, Any]) -> None:
        call = self.calls.setdefault(alert["call_id"], BoardCall(None))
        full = {**alert, "agent": call.agent, "transcript": list(call.transcript)[-8:]}
        call.alerts.append(full)
        self.publish({"type": "live_alert", **full})

    def ended(self, call_id: str) -> None:
        if self.calls.pop(call_id, None) is not None:
            self.publish({"type": "live_call_ended", "call_id": call_id})

    def publish(self, event: dict[str, Any]) -> None:
        self.seq += 1
        stamped = {**event, "seq": self.seq, "sent_at": self._clock()}
        self.events.append(stamped)
        while len(self.events) > self._keep:
            self.events.popleft()
        for listener in list(self._listeners):
            try:
                listener.queue.put_nowait(stamped)
            except asyncio.QueueFull:
                listener.lagged = True
                self.lagged += 1
                self._listeners.discard(listener)

    def since(self, seq: int) -> list[dict[str, Any]] | None:
        """Events after ``seq``; None when some are no longer kept (send a snapshot)."""
        if seq >= self.seq:
            return []
        if not self.events or self.events[0]["seq"] > seq + 1:
            return None
        return [e for e in self.events if e["seq"] > seq]

    def snapshot(self) -> dict[str, Any]:
        return {"type": "live_snapshot", "seq": self.seq,
                "calls": [{"call_id": call_id, "agent": c.agent, "transcript": list(c.transcript),
                           "alerts": c.alerts[-10:]} for call_id, c in self.calls.items()]}

    def statistics(self) -> dict[str, int]:
        return {"listeners": len(self._listeners), "lagged": self.lagged, "seq": self.seq}

    @contextlib.contextmanager
    def listen(self, size: int = 1000) -> Iterator[Listener]:
        listener = Listener(asyncio.Queue(size))
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
