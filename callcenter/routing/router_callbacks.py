"""Callbacks that keep the caller's place, in the router.

A caller who takes the callback hangs up, but the call stays in the queue as a *callback entry*
with its original wait start, so it is served in the same order as the callers still on the
line. When it comes up, the agent is rung first (:class:`DialCallback`); once they answer, the
adapter dials the customer and reports the customer leg (:class:`~callcenter.routing.events.
CallbackDialed`). A failed leg frees the agent at once and the entry waits ``callback_retry_s``
(status ``RETRY``) before it may come up again, in its old place; after ``callback_attempts``
legs it ends (:class:`CallbackGaveUp`: a ticket). Callback entries are not counted as waiting
callers in the statistics (the caller already counted as a callback when they took it).
"""

from __future__ import annotations

from callcenter.routing import events as ev
from callcenter.routing.decisions import (
    CallbackAttemptFailed,
    CallbackConnected,
    CallbackGaveUp,
    CallbackKept,
    CancelOffer,
)
from callcenter.routing.router_core import RouterCore
from callcenter.routing.state import CallbackEntry, CallRec, CallStatus
from callcenter.routing.timers import TimerKind

WAITING_CALLBACK = (CallStatus.WAITING, CallStatus.OFFERED, CallStatus.RETRY)


class CallbackMoves(RouterCore):
    """The callback events' handlers and the callback queries (mixed into the router)."""

    def callbacks_waiting(self, at: float | None = None) -> tuple[int, float]:
        """(callbacks not yet connected to an agent, the longest wait among them in seconds)."""
        now = self.now if at is None else max(at, self.now)
        waiting = [c for c in self._callbacks.values() if c.status in WAITING_CALLBACK]
        oldest = min((c.enqueued_at for c in waiting), default=now)
        return len(waiting), max(0.0, now - oldest)

    def callback_due_at(self, call_id: str) -> float | None:
        """When the call is to be offered a callback (the router's clock; None: never again)."""
        call = self.book.calls.get(call_id)
        if call is None or call.callback_offered or call.callback is not None:
            return None
        if call.callback_due:  # due while an agent was rung: announced when it waits again
            return self.now
        later = (s for s in call.policy.steps[call.active:] if s.offer_callback)
        step = next(later, None)
        return None if step is None else call.enqueued_at + step.after_s

    def _on_callback_queued(self, event: ev.CallbackQueued) -> None:
        call = self.book.calls.get(event.call_id)
        if call is None or call.callback is not None or call.status is CallStatus.TALKING:
            return  # gone, already a callback, or an agent took the caller first
        call.callback = CallbackEntry(event.number)
        call.callback_offered = True
        self._callbacks[call.seq] = call
        self._stats.call_callback(call.request.skill)
        self._emit(CallbackKept(call.request, event.number, call.enqueued_at, self.now))
        if call.status is CallStatus.OFFERED and call.agent is not None:
            agent = call.agent
            self._emit(CancelOffer(call.call_id, agent.agent_id, call.offer_id,
                                   "callback_accepted", self.now))
            agent.call = None
            self._enqueue(call)
            self._after_work(agent, keep_idle=True)

    def _on_callback_restored(self, event: ev.CallbackRestored) -> None:
        if event.call.call_id in self.book.calls:
            return
        call = self._register(event.call, event.enqueued_at)
        call.callback = CallbackEntry(event.number, event.attempts)
        call.callback_offered = True
        call.key = call.make_key()
        self._callbacks[call.seq] = call
        self._activate_steps(call, announce=False)
        self._enqueue(call)

    def _on_callback_dialed(self, event: ev.CallbackDialed) -> None:
        call = self.book.calls.get(event.call_id)
        entry = call.callback if call is not None else None
        if call is None or entry is None or entry.connected or call.agent is None \
                or call.status is not CallStatus.TALKING:
            return  # stale, or the customer already answered
        agent = call.agent
        entry.attempts += 1
        if event.result == "answered":
            entry.connected = True
            self._emit(CallbackConnected(call.call_id, agent.agent_id, entry.attempts, self.now))
            return
        agent.call = None
        call.agent = None
        if entry.attempts >= call.policy.callback_attempts:
            self._emit(CallbackGaveUp(call.request, entry.number, entry.attempts, event.result,
                                      self.now))
            self._done(call)
        else:
            self._retry_later(call, agent.agent_id, event.result)
        self._after_work(agent)  # freed at once: no wrap-up for a call that never connected

    def _retry_later(self, call: CallRec, agent_id: str, result: str) -> None:
        assert call.callback is not None
        attempts = call.callback.attempts
        retry_at = self.now + call.policy.callback_retry_s
        self._emit(CallbackAttemptFailed(call.call_id, agent_id, attempts, result, retry_at,
                                         self.now))
        if retry_at <= self.now:
            self._enqueue(call)
            return
        call.status = CallStatus.RETRY
        self._timers.add(retry_at, TimerKind.CALLBACK_RETRY, call.seq, attempts)
