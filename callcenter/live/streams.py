"""Which live streams the server expects: one per spied leg, named by the UUID its AudioSocket
channel announces. A connection naming no expected stream is refused (counted), so nobody but
the spies this server started can feed audio into a call's transcript.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

SPEAKERS = ("customer", "agent")


@dataclass
class Expected:
    """A stream the starter asked Asterisk for: ``call_id`` (the caller's Linkedid), the
    ``speaker`` it carries, the spied ``channel`` and the spy channel once Asterisk made it."""

    stream_id: str
    call_id: str
    speaker: str
    channel: str
    bridged_at: float  # when the call was bridged (clock seconds): utterance times count from it
    spy_channel: str = ""
    connected: bool = False
    ended: bool = False


@dataclass
class StreamBook:
    """The expected streams, by UUID and by call; paused calls (payment data) get none."""

    by_id: dict[str, Expected] = field(default_factory=dict)
    by_call: dict[str, list[Expected]] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)

    def expect(self, call_id: str, speaker: str, channel: str, bridged_at: float) -> Expected:
        if speaker not in SPEAKERS:
            raise ValueError(f"unknown speaker {speaker!r}")
        stream = Expected(str(uuid.uuid4()), call_id, speaker, channel, bridged_at)
        self.by_id[stream.stream_id] = stream
        self.by_call.setdefault(call_id, []).append(stream)
        return stream

    def claim(self, stream_id: str) -> Expected | None:
        """The stream a connection announces; None when unknown, already connected or ended."""
        stream = self.by_id.get(stream_id)
        if stream is None or stream.connected or stream.ended or stream.call_id in self.paused:
            return None
        stream.connected = True
        return stream

    def live(self, call_id: str) -> list[Expected]:
        return [s for s in self.by_call.get(call_id, []) if not s.ended]

    def end(self, stream: Expected) -> None:
        stream.ended = True
        self.by_id.pop(stream.stream_id, None)

    def forget(self, call_id: str) -> list[Expected]:
        """The call is over: its streams end; returns the ones that were still open."""
        streams = self.by_call.pop(call_id, [])
        self.paused.discard(call_id)
        open_ = [s for s in streams if not s.ended]
        for stream in streams:
            self.end(stream)
        return open_

    def statistics(self) -> dict[str, int]:
        return {"expected": len(self.by_id), "calls": len(self.by_call), "paused": len(self.paused),
                "connected": sum(1 for s in self.by_id.values() if s.connected)}
