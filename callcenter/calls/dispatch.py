"""The one path every call takes through the server, from the first AMI event to the stored
outcome.

Each AMI event Asterisk sends arrives here (:meth:`CallDispatcher.on_ami_event`), and so does
each action the server sends (:meth:`CallDispatcher.on_action`). For every one, in order:

1. **Mask.** During a sensitive IVR step (card number, PIN) the caller's digits are replaced by
   ``*`` (:mod:`callcenter.calls.redact`): nothing below stores them.
2. **Reduce.** The pure :class:`~callcenter.calls.tracker.CallTracker` updates its calls and
   returns what happened, as typed :mod:`~callcenter.calls.events` (``CallArrived``,
   ``EnteredIvr``, ``Queued``, ``OfferSent``, ``AgentRinging``, ``AgentAnswered``,
   ``Bridged``, ``CallEnded``…).
3. **Log.** The masked event gets its row in the append-only event log, filed under its call.
4. **Deliver.** Each typed event goes to the subscribers, stage by stage (:class:`Stage`):

   - *persistence*: the :class:`~callcenter.calls.recorder.CallRecorder` notes the call for
     its next batch (every 0.2 s it upserts the call, its legs and recordings; an ended call's
     row carries its outcome, and its recordings are then finalised);
   - *routing*: the :class:`~callcenter.routing.offers.OfferAdapter` turns offer events into
     router facts (answered, failed, talk ended, caller gone); the router decides and the
     adapter sends the next ``Originate`` or ``Hangup``, which comes back here as an action;
   - *console*: the agent's screen hears that the call was answered or ended;
   - *recording*: the :class:`~callcenter.recording.starter.RecordingStarter` sends
     ``MixMonitor`` when the call is bridged;
   - *metrics*: the live-calls gauge.

5. **Listen.** The original (unmasked) AMI event goes to the raw listeners, in the order they
   were added: phone reachability (routing), the IVR runner (AsyncAGI: it runs the flow and
   hands the call to routing, which reports ``Queued`` back through :meth:`queued`), and the
   recordings registry.

What a stage or listener sends is delivered at once, inside the delivery that caused it: the
router writes its ``Originate`` in the routing stage's (or the IVR listener's) own turn, so the
``OfferSent`` it becomes reaches every stage before the later stages have seen the event that
freed the agent or queued the call. Subscribers therefore read each event for what it says,
never for what the previous event to reach them was.

A subscriber that raises is logged and skipped; the others still get the event. Everything
runs on the event loop without awaiting, so events are handled one at a time, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum

import structlog

from callcenter.ami.messages import Action, AmiEvent
from callcenter.calls.events import CallArrived, CallEnded, CallEvent
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.redact import SENSITIVE_EVENTS, redact
from callcenter.calls.tracker import CallTracker, first_call_id
from callcenter.metrics import Metrics, count_caught

log = structlog.get_logger("callcenter.calls")

Subscriber = Callable[[CallEvent], None]
AmiListener = Callable[[AmiEvent], None]


class Stage(IntEnum):
    """The order in which subscribers get each call event."""

    PERSISTENCE = 1
    ROUTING = 2
    CONSOLE = 3
    RECORDING = 4
    METRICS = 5


class CallDispatcher:
    """Runs the tracker on the AMI traffic and delivers what happened.

    Args:
        tracker: the pure reducer.
        recorder: the persistence stage (event log and call rows).
        sensitive: whether a channel is in a sensitive IVR step now (its digits are masked).
    """

    def __init__(self, tracker: CallTracker, recorder: CallRecorder,
                 sensitive: Callable[[str], bool] | None = None, metrics: Metrics | None = None) -> None:
        self._tracker = tracker
        self._metrics = metrics
        self._recorder = recorder
        self._sensitive = sensitive
        self._subscribers: dict[Stage, list[Subscriber]] = {stage: [] for stage in Stage}
        self._subscribers[Stage.PERSISTENCE].append(recorder.on_call_event)
        self._listeners: list[AmiListener] = []
        self.subscriber_failures = 0

    def subscribe(self, stage: Stage, subscriber: Subscriber) -> None:
        """``subscriber(event)`` for every call event, after the earlier stages'."""
        self._subscribers[stage].append(subscriber)

    def listen(self, listener: AmiListener) -> None:
        """``listener(event)`` for every AMI event, once the call events are delivered."""
        self._listeners.append(listener)

    # --- in ----------------------------------------------------------------------------------

    def on_ami_event(self, event: AmiEvent) -> None:
        """``AmiClient.subscribe``: one event from Asterisk."""
        masked = self._mask(event)
        happened = self._tracker.apply_event(masked)
        self._recorder.log_event(masked, first_call_id(happened))
        self.deliver(happened)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                self._failed(listener)

    def on_action(self, action: Action, action_id: str, at: float) -> None:
        """``AmiClient.observe_actions``: one action the server sent."""
        self.deliver(self._tracker.apply_action(action, action_id, at))

    def queued(self, call_id: str, at: float) -> None:
        """Routing took the call from the IVR at ``at``."""
        self.deliver(self._tracker.apply_queued(call_id, at))

    def deliver(self, events: Iterable[CallEvent]) -> None:
        """Hand each event to every stage in order (also what a rebuild produced)."""
        for event in events:
            for stage in Stage:
                for subscriber in self._subscribers[stage]:
                    try:
                        subscriber(event)
                    except Exception:
                        self._failed(subscriber)

    def _mask(self, event: AmiEvent) -> AmiEvent:
        if self._sensitive is not None and event.frame.fields.get("Event") in SENSITIVE_EVENTS \
                and self._sensitive(event.frame.fields.get("Channel", "")):
            return redact(event)
        return event

    def _failed(self, handler: object) -> None:
        self.subscriber_failures += 1
        count_caught(self._metrics, "call_event_subscriber_failed")
        log.exception("call_event_subscriber_failed",
                      subscriber=getattr(handler, "__qualname__", repr(handler)))


def live_calls_gauge(tracker: CallTracker, metrics: Metrics) -> Subscriber:
    """The metrics stage: ``callcenter_live_calls`` follows calls arriving and ending."""
    def on_call_event(event: CallEvent) -> None:
        if isinstance(event, CallArrived | CallEnded):
            metrics.live_calls.set(len(tracker.live_calls()))
    return on_call_event
