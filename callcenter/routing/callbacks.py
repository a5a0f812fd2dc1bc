"""Carries out the router's callback decisions over AMI, stores them, and tells the router what
became of each leg.

Decisions in (:meth:`CallbackAdapter.carry_out`, an engine sink):

- ``OfferCallback`` → the ``callbacks`` row (offered) and the IVR's listeners (the caller hears
  the offer);
- ``CallbackKept`` / ``CallbackAttemptFailed`` / ``CallbackConnected`` → the row;
- ``DialCallback`` → ``Originate`` of the agent's dial string into ``[cc-callback]`` (the agent
  is rung first; once they answer, the dialplan dials ``CC_CALLBACK_NUMBER`` through the
  carrier for ``CC_CALLBACK_RING`` seconds);
- ``CallbackGaveUp`` → a callback ticket, then the row (failed, with the ticket);
- ``CancelOffer`` of a callback → ``Hangup`` of the agent's channel.

Facts in (:meth:`on_ami_event`, every AMI event), Asterisk 22 as seen in ``shared/asterisk-lab``:
an Originate into a context answers with ``OriginateResponse`` (its ActionID) only once the
agent answered (``Response: Success``, ``Reason: 4``) or failed (``Failure``; ``Reason`` 3 no
answer, 5 busy, 8 congestion, 0 for anything else, such as an unregistered phone); the
customer leg ends with ``DialEnd`` on the agent's channel (``DialStatus``); the agent's
``Hangup`` ends the talk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import structlog

from callcenter.ami import messages
from callcenter.ami.errors import AmiError
from callcenter.ami.messages import AmiEvent
from callcenter.calls.events import Bridged, CallEnded, CallEvent
from callcenter.calls.model import Call, Direction
from callcenter.calls.offer_match import dial_prefix
from callcenter.metrics import Metrics, count_caught
from callcenter.orders.tickets import CallbackRequest, CallbackTickets
from callcenter.routing import events as ev
from callcenter.routing.callback_facts import CONTEXT, DIAL_STATUS, Dialing, agent_result, valid_number
from callcenter.routing.callback_store import CallbackStore, OpenCallback
from callcenter.routing.decisions import (
    CallbackAttemptFailed,
    CallbackConnected,
    CallbackGaveUp,
    CallbackKept,
    CancelOffer,
    Decision,
    DialCallback,
    OfferCallback,
)
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferRinging, Send
from callcenter.runtime.tasks import Tasks

log = structlog.get_logger("callcenter.routing")

def _call_of(d: CallbackKept | CallbackAttemptFailed | CallbackConnected | CallbackGaveUp) -> str:
    return d.request.call_id if isinstance(d, CallbackKept | CallbackGaveUp) else d.call_id


class CallbackAdapter:
    """The AMI and storage edge of callbacks.

    Args:
        engine: where facts go.
        send: the AMI link's ``send``.
        store: the ``callbacks`` table.
        tickets: writes the ticket of a callback that was never connected.
        on_offer: told when the router offers a waiting caller a callback (the IVR plays it).
        on_ringing: the screen-pop hook, told when the agent's phone rings for a callback (with
            what the pop says of it: number, original wait, attempt, IVR path, customer).
    """

    def __init__(self, engine: RoutingEngine, send: Send, store: CallbackStore,
                 tickets: CallbackTickets,
                 on_offer: Callable[[OfferCallback], None] | None = None,
                 on_ringing: Callable[[OfferRinging], None] | None = None,
                 call_of: Callable[[str], Call | None] = lambda _: None,
                 metrics: Metrics | None = None) -> None:
        self._engine = engine
        self._metrics = metrics
        self._send = send
        self._store = store
        self._tickets = tickets
        self._on_ringing = on_ringing
        self._offer_listeners: list[Callable[[OfferCallback], None]] = []
        if on_offer is not None:
            self._offer_listeners.append(on_offer)
        self._dialing: dict[str, Dialing] = {}  # call id -> the callback being dialled
        self._call_of = call_of
        # callbacks' own calls found connected by a restarted server -> their original call
        self._adopted: dict[str, str] = {}
        self._writes = asyncio.Lock()  # FIFO: the rows change in the order decided
        self._tasks = Tasks()
        self.write_failures = 0

    # --- from the IVR ------------------------------------------------------------------------

    def add_offer_listener(self, listener: Callable[[OfferCallback], None]) -> None:
        """``listener(decision)`` when the router offers a waiting caller a callback."""
        self._offer_listeners.append(listener)

    def take(self, call_id: str, number: str) -> None:
        """The caller took the callback (``number`` to call back).

        Raises:
            ValueError: the number is not a dialable number.
        """
        if not valid_number(number):
            raise ValueError(f"not a number to call back: {number!r}")
        self._engine.submit(ev.CallbackQueued(call_id, number, self._engine.now()))

    def declined(self, call_id: str) -> None:
        """The caller chose to keep waiting."""
        self._write(lambda: self._store.declined(call_id), call_id)

    async def restore(self) -> int:
        """Queue the stored open callbacks again, in their place; returns how many."""
        found: list[OpenCallback] = await self._store.open_callbacks()
        for item in found:
            self._engine.submit(ev.CallbackRestored(item.request, item.number, item.enqueued_at,
                                                    item.attempts, self._engine.now()))
        return len(found)

    # --- decisions ---------------------------------------------------------------------------

    def carry_out(self, decisions: list[Decision]) -> None:
        """Engine sink."""
        for d in decisions:
            if isinstance(d, OfferCallback):
                self._offered(d)
            elif isinstance(d, DialCallback):
                self._dial(d)
            elif isinstance(d, CancelOffer):
                self._cancel(d)
            elif isinstance(d, CallbackKept | CallbackAttemptFailed | CallbackConnected
                            | CallbackGaveUp):
                self._write(partial(self._record, d), _call_of(d))

    async def _record(self, d: CallbackKept | CallbackAttemptFailed | CallbackConnected
                      | CallbackGaveUp) -> None:
        if isinstance(d, CallbackKept):
            await self._store.kept(d.request, d.number, d.enqueued_at)
        elif isinstance(d, CallbackAttemptFailed):
            await self._store.attempt_failed(d.call_id, d.attempt, d.result, d.agent_id)
        elif isinstance(d, CallbackConnected):
            await self._store.connected(d.call_id, d.attempt, d.agent_id)
        else:
            await self._give_up(d)

    def _offered(self, decision: OfferCallback) -> None:
        self._write(lambda: self._store.offered(decision.call_id, decision.skill,
                                                decision.waited_s), decision.call_id)
        for listener in self._offer_listeners:
            try:
                listener(decision)
            except Exception:
                count_caught(self._metrics, "callback_offer_listener_failed")
                log.exception("callback_offer_listener_failed", call_id=decision.call_id)

    def _dial(self, decision: DialCallback) -> None:
        dialing = Dialing(decision)
        self._dialing[decision.call_id] = dialing
        originate = messages.Originate(
            channel=decision.dial_string, context=CONTEXT, exten="s", priority=1,
            timeout_ms=int(decision.ring_timeout_s * 1000),
            caller_id=f'"Callback {decision.attempt}" <{decision.number}>',
            variables={"CC_CALLBACK": decision.call_id, "CC_CALLBACK_NUMBER": decision.number,
                       "CC_CALLBACK_RING": str(int(decision.customer_ring_s)),
                       "CC_AGENT": decision.agent_id,
                       # a blind transfer from the agent's softphone (SIP REFER) goes there
                       "TRANSFER_CONTEXT": "cc-transfer"})
        self._tasks.spawn(self._originate(dialing, originate))

    async def _originate(self, dialing: Dialing, originate: messages.Originate) -> None:
        decision = dialing.decision
        try:
            response = await self._send(originate)
        except AmiError as exc:
            log.warning("callback_originate_failed", call_id=decision.call_id, error=str(exc))
            self._agent_failed(dialing, "failed")
            return
        dialing.action_id = response.get("ActionID")
        if not response.ok:
            self._agent_failed(dialing, "failed")
            return
        await self._tell_ringing(dialing)

    async def _tell_ringing(self, dialing: Dialing) -> None:
        decision = dialing.decision
        if self._on_ringing is None:
            return
        info: dict[str, Any] = {}
        try:
            info = await self._store.original(decision.call_id) or {}
        except Exception as exc:  # the pop says less; the call goes on
            count_caught(self._metrics, "callback_pop_lookup_failed")
            log.warning("callback_pop_lookup_failed", call_id=decision.call_id, error=str(exc))
        enqueued = info.get("enqueued_at")
        now = self._engine.now()
        callback = {"number": decision.number, "attempt": decision.attempt,
                    "waited_s": round(now - enqueued, 0) if enqueued is not None else None,
                    "accepted_at": info.get("accepted_at"), "ivr_path": info.get("ivr_path") or [],
                    "customer_id": info.get("customer_id")}
        try:
            self._on_ringing(OfferRinging(decision.call_id, decision.agent_id, "", dialing.channel,
                                          decision.number, "", decision.skill, now, callback))
        except Exception:
            count_caught(self._metrics, "callback_ringing_listener_failed")
            log.exception("callback_ringing_listener_failed", call_id=decision.call_id)

    async def _give_up(self, decision: CallbackGaveUp) -> None:
        request = decision.request
        ticket_id: int | None = None
        try:
            ticket_id = await self._tickets.create_callback(CallbackRequest(
                request.call_id, decision.number,
                f"Callback not reached after {decision.attempts} attempts ({decision.result})",
                request.language or "en"))
        except Exception as exc:
            count_caught(self._metrics, "callback_ticket_failed")
            log.warning("callback_ticket_failed", call_id=request.call_id, error=str(exc))
        await self._store.failed(request.call_id, decision.attempts, decision.result, ticket_id)

    def _cancel(self, decision: CancelOffer) -> None:
        dialing = self._dialing.get(decision.call_id)
        if dialing is None or dialing.decision.offer_id != decision.offer_id:
            return
        dialing.cancelled = True
        del self._dialing[decision.call_id]
        if dialing.channel:
            self._tasks.spawn(self._hangup(dialing.channel, decision.call_id))

    async def _hangup(self, channel: str, call_id: str) -> None:
        try:
            await self._send(messages.hangup(channel))
        except AmiError as exc:
            log.info("callback_hangup_failed", call_id=call_id, channel=channel, error=str(exc))

    # --- facts from Asterisk -----------------------------------------------------------------

    def on_ami_event(self, event: AmiEvent) -> None:
        """Feed every AMI event."""
        name = event.name
        if name == "Newchannel":
            self._new_channel(event)
        elif name == "OriginateResponse":
            self._originate_response(event)
        elif name == "DialEnd":
            self._dial_end(event)
        elif name == "Hangup":
            self._hung_up(event)

    def _new_channel(self, event: AmiEvent) -> None:
        for dialing in self._dialing.values():
            if not dialing.channel and event.channel.startswith(
                    dial_prefix(dialing.decision.dial_string)):
                dialing.channel = event.channel
                return

    def _by_channel(self, channel: str) -> Dialing | None:
        for dialing in self._dialing.values():
            if channel and dialing.channel == channel:
                return dialing
        return None

    def _originate_response(self, event: AmiEvent) -> None:
        dialing = self._responding(event)
        if dialing is None:
            return
        if event.get("Response") != "Success":
            self._agent_failed(dialing, agent_result(event.get("Reason"), dialing.cause))
            return
        dialing.answered = True
        dialing.channel = event.channel or dialing.channel
        call_id, now = dialing.decision.call_id, self._engine.now()
        linkedid = event.get("Uniqueid")
        if linkedid:
            self._write(lambda: self._store.linked(call_id, linkedid), call_id)
        self._engine.submit(ev.OfferAnswered(call_id, dialing.decision.agent_id, now))

    def _responding(self, event: AmiEvent) -> Dialing | None:
        """The callback an ``OriginateResponse`` answers: by ActionID, or, when it came before
        the action's own response was read, by our context and the agent's channel."""
        action_id = event.get("ActionID")
        for dialing in self._dialing.values():
            if dialing.answered:
                continue
            if action_id and dialing.action_id == action_id:
                return dialing
            if not dialing.action_id and event.get("Context") == CONTEXT \
                    and event.channel in (dialing.decision.dial_string, dialing.channel):
                return dialing
        return None

    def _agent_failed(self, dialing: Dialing, result: str) -> None:
        call_id = dialing.decision.call_id
        if self._dialing.get(call_id) is not dialing:
            return
        del self._dialing[call_id]
        self._engine.submit(ev.OfferFailed(call_id, dialing.decision.agent_id, result,
                                           self._engine.now()))

    def _dial_end(self, event: AmiEvent) -> None:
        dialing = self._by_channel(event.channel)
        if dialing is None or not dialing.answered or dialing.connected:
            return
        result = DIAL_STATUS.get(event.get("DialStatus"), "failed")
        self._customer_leg(dialing, result)

    def _customer_leg(self, dialing: Dialing, result: str) -> None:
        call_id = dialing.decision.call_id
        if result == "answered":
            dialing.connected = True
        else:
            del self._dialing[call_id]
        self._engine.submit(ev.CallbackDialed(call_id, result, self._engine.now()))

    def _hung_up(self, event: AmiEvent) -> None:
        dialing = self._by_channel(event.channel)
        if dialing is not None:
            cause = event.get("Cause")
            self._ended(dialing, int(cause) if cause.isdigit() else None)

    def _ended(self, dialing: Dialing, cause: int | None) -> None:
        """The agent's channel is gone."""
        call_id = dialing.decision.call_id
        if dialing.connected:
            del self._dialing[call_id]
            self._engine.submit(ev.TalkEnded(call_id, self._engine.now()))
            self._write(lambda: self._store.completed(call_id), call_id)
        elif dialing.answered:  # the agent left before the customer's leg ended
            self._customer_leg(dialing, "cancelled")
        else:  # the OriginateResponse that follows says it failed; the cause says why
            dialing.cause = cause

    def on_call_event(self, event: CallEvent) -> None:
        """Dispatcher subscriber: a callback's own call found talking by a restarted server
        (rebuilt from Asterisk's lists, nobody here dialled it) completes its row when it ends."""
        if isinstance(event, Bridged):
            call = self._call_of(event.call_id)
            if call is not None and call.direction is Direction.CALLBACK and call.callback_of \
                    and call.callback_of not in self._dialing:
                self._adopted[event.call_id] = call.callback_of
        elif isinstance(event, CallEnded):
            original = self._adopted.pop(event.call_id, None)
            if original is not None:
                self._write(lambda: self._store.completed(original), original)

    # --- the link ------------------------------------------------------------------------------

    def on_link(self, state: str) -> None:
        """``AmiClient.observe_link``: after a reconnect, settle the callbacks whose agent's
        channel ended while the link was down (their Hangup was never seen)."""
        if state == "up" and self._dialing:
            self._tasks.spawn(self._recheck())

    async def _recheck(self) -> None:
        try:
            response = await self._send(messages.status())
        except AmiError as exc:
            log.warning("callback_recheck_failed", error=str(exc))
            return
        live = {item.get("Channel") for item in response.items}
        for dialing in list(self._dialing.values()):
            if dialing.channel and dialing.channel not in live:
                if not dialing.answered:
                    self._agent_failed(dialing, "not_sent")
                else:
                    self._ended(dialing, None)

    # --- housekeeping ------------------------------------------------------------------------

    def _write(self, make: Callable[[], Awaitable[None]], call_id: str) -> None:
        async def run() -> None:
            async with self._writes:
                try:
                    await make()
                except Exception as exc:
                    self.write_failures += 1
                    count_caught(self._metrics, "callback_row_not_written")
                    log.warning("callback_row_not_written", call_id=call_id,
                                error=f"{type(exc).__name__}: {exc}"[:300])
        self._tasks.spawn(run())

    async def wait_idle(self) -> None:
        """Until every action and row started so far is done (tests, shutdown)."""
        await self._tasks.wait_idle()

    async def close(self) -> None:
        await self._tasks.wait_idle()

    def statistics(self) -> dict[str, Any]:
        return {"dialing": len(self._dialing), "write_failures": self.write_failures}
