"""What arrives on the AMI link, put where it belongs: a response (and the items of a list
action) to the action in flight with its ActionID, an ``AsyncAGIExec`` result to the AGI command
waiting for it (matched on ``CommandId`` case-insensitively), and every event to the handlers, in
arrival order, even one that carries the ActionID of an action in flight (``OriginateResponse``,
list items). A handler that raises is logged and never drops the link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from callcenter.ami.agi import AgiResult
from callcenter.ami.errors import AgiChannelGone, AmiLinkLost
from callcenter.ami.messages import Action, AmiEvent, AmiResponse
from callcenter.ami.parser import BadFrame, Banner, Frame
from callcenter.ami.sanitize import sanitize_frame
from callcenter.clock import wall_time
from callcenter.metrics import Metrics, count_caught

log = structlog.get_logger("callcenter.ami")

EventHandler = Callable[[AmiEvent], None]


@dataclass(slots=True)
class PendingAction:
    """An action sent and not yet answered (a list action also collects its items)."""

    action: Action
    future: asyncio.Future[AmiResponse]
    sent_at: float
    response: Frame | None = None
    items: list[AmiEvent] = field(default_factory=list)


@dataclass(slots=True)
class AgiWait:
    """An AGI command queued on a channel, waiting for its ``AsyncAGIExec``."""

    channel: str
    future: asyncio.Future[AgiResult]


class Inbound:
    """The link's arrivals (see the module docstring), with their counts.

    Args:
        metrics: where events, bad frames and cleaned frames are counted (optional).
        clock: wall-clock time for events' ``received_at``.
    """

    def __init__(self, metrics: Metrics | None = None, clock: Callable[[], float] = wall_time) -> None:
        self._metrics = metrics
        self._clock = clock
        self.handlers: list[EventHandler] = []
        self.pending: dict[str, PendingAction] = {}
        self.agi: dict[str, AgiWait] = {}
        self.events_received = 0
        self.bad_frames = 0
        self.sanitized = 0

    def received(self, banner: asyncio.Future[str], items: list[Frame | Banner | BadFrame]) -> None:
        """Sort what one read of the link brought."""
        now = self._clock()
        events = 0
        for item in items:
            if type(item) is Frame:
                self._sanitize(item)
                if "Event" in item.fields:
                    events += 1
                    self._on_event(AmiEvent(item, now))
                else:
                    self._on_response(item)
            elif isinstance(item, Banner):
                if not banner.done():
                    banner.set_result(item.version)
            elif isinstance(item, BadFrame):
                self.bad_frames += 1
                if self._metrics is not None:
                    self._metrics.ami_bad_frames.inc()
                log.warning("ami_bad_frame", reason=item.reason, excerpt=item.excerpt[:80])
        self.events_received += events
        if events and self._metrics is not None:
            self._metrics.ami_events.inc(events)

    def _sanitize(self, frame: Frame) -> None:
        """Clean what the PBX sent before any handler sees it (:mod:`callcenter.ami.sanitize`)."""
        report = sanitize_frame(frame)
        if not report:
            return
        self.sanitized += 1
        if self._metrics is not None:
            for kind, names in (("control", report.control), ("truncated", report.truncated),
                                ("numeric", report.numeric)):
                if names:
                    self._metrics.ami_sanitized.labels(kind).inc()
        log.warning("ami_frame_sanitized", ami_event=frame.fields.get("Event", "")[:40],
                    control=list(report.control)[:10], truncated=list(report.truncated)[:10],
                    out_of_range=list(report.numeric)[:10])

    def _on_response(self, frame: Frame) -> None:
        pending = self.pending.get(frame.get("ActionID"))
        if pending is None or pending.future.done():
            return
        if pending.action.is_list and frame.fields.get("EventList") == "start":
            pending.response = frame
            return
        pending.future.set_result(AmiResponse(frame))

    def _on_event(self, event: AmiEvent) -> None:
        fields = event.frame.fields
        action_id = fields.get("ActionID")
        if action_id is not None:
            pending = self.pending.get(action_id)
            if pending is not None and pending.action.is_list and not pending.future.done():
                if fields.get("EventList") == "Complete":
                    pending.future.set_result(AmiResponse(pending.response or event.frame,
                                                          tuple(pending.items)))
                else:
                    pending.items.append(event)
        name = fields["Event"]
        if name == "AsyncAGIExec":
            wait = self.agi.get(event.command_id)
            if wait is not None and not wait.future.done():
                wait.future.set_result(event.agi_result())
        elif (name == "Hangup" or name == "AsyncAGIEnd") and self.agi:
            self._fail_agi(fields.get("Channel", ""), name)
        for handler in self.handlers:
            try:
                handler(event)
            except Exception:
                count_caught(self._metrics, "ami_event_handler_failed")
                log.exception("ami_event_handler_failed", handler=getattr(handler, "__qualname__", "?"),
                              ami_event=name)

    def _fail_agi(self, channel: str, why: str) -> None:
        for wait in self.agi.values():
            if wait.channel == channel and not wait.future.done():
                wait.future.set_exception(AgiChannelGone(f"{channel}: {why} before the AGI result"))

    def fail_all(self, reason: str) -> None:
        """The link is gone: every action in flight and every AGI wait fails with ``reason``."""
        for pending in list(self.pending.values()):
            if not pending.future.done():
                pending.future.set_exception(AmiLinkLost(f"{pending.action.name}: AMI link {reason}"))
        for wait in self.agi.values():
            if not wait.future.done():
                wait.future.set_exception(AmiLinkLost(f"AGI on {wait.channel}: AMI link {reason}"))
