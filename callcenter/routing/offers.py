"""Carries out the router's offers over AMI, and tells the router what became of them.

Decisions in (:meth:`OfferAdapter.carry_out`, registered as an engine sink):

- ``Offer`` → ``Originate`` of the agent's dial string into ``Bridge(<caller channel>,p)``,
  ``Async: true``, ``Timeout`` = ring timeout, ``CC_CALL=<call id>`` (the tracker links the
  agent's channels to the call by it and by the dial-string prefix);
- ``CancelOffer`` → ``Hangup`` of the agent's channel (at once, or as soon as it exists).

Facts in: :meth:`on_call_event`, the dispatcher's typed call events (our offer was sent, its
agent leg rings, answers or fails; the agent hung up; the call ended), and :meth:`on_ami_event`
for phone reachability (:mod:`~callcenter.routing.phones`). An offer is followed by the
ActionID of its Originate. The adapter decides nothing: it translates, and the router decides.

Asterisk facts this relies on (``shared/asterisk-lab``): a ring timeout is agent Hangup cause 19
then ``OriginateResponse`` Reason 3; a busy phone is cause 17 (the response's Reason is 0 for
busy *and* unregistered, so the tracker reads the cause); an unregistered phone gets an
``OriginateResponse`` Failure with no channel at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from callcenter.ami import messages
from callcenter.ami.errors import AmiError, AmiLinkLost, AmiNotConnected
from callcenter.ami.messages import Action, AmiEvent, AmiResponse
from callcenter.calls.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLegCreated,
    AgentLegFailed,
    AgentRinging,
    Bridged,
    CallEnded,
    CallEvent,
    OfferSent,
)
from callcenter.calls.model import OfferResult
from callcenter.metrics import Metrics, count_caught
from callcenter.routing import events as ev
from callcenter.routing.decisions import CancelOffer, Decision, Offer
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.phones import Phones
from callcenter.runtime.tasks import Tasks

log = structlog.get_logger("callcenter.routing")

Send = Callable[[Action | messages.Originate], Awaitable[AmiResponse]]


@dataclass(frozen=True, slots=True)
class OfferRinging:
    """For the agent's screen: their phone rings with this call."""

    call_id: str
    agent_id: str
    caller_channel: str
    agent_channel: str
    caller_number: str
    caller_name: str
    skill: str
    at: float
    callback: dict[str, Any] | None = None  # a callback: number, original wait, attempt, IVR path


@dataclass(slots=True)
class _Queued:
    call_id: str
    caller_channel: str
    caller_number: str
    caller_name: str
    skill: str
    answered_by: str = ""  # the agent talking, until their talk ends


@dataclass(slots=True, eq=False)
class _Pending:
    decision: Offer
    action_id: str | None = None  # of the Originate, once the tracker saw it sent
    agent_channel: str = ""
    cancel_reason: str = ""
    hung_up: set[str] = field(default_factory=set)


class OfferAdapter:
    """The AMI edge of routing.

    Args:
        engine: where facts go (``submit``) and whose clock stamps them.
        send: ``AmiClient.post`` (the action written at the call: no wait for other work) or ``send``.
        on_ringing: the screen-pop hook, called when the agent's phone starts ringing.
        caller_id_name: the name shown on the agent's phone (``{skill}`` is replaced).
        bridge_options: options of the ``Bridge`` the agent leg runs: ``p`` (a tone to the
            caller), plus ``F(survey^s^1)`` to send the caller to the post-call survey when the
            agent hangs up first: one option string, ``pF(survey^s^1)`` (a comma between
            options is an unrecognised option to Asterisk's Bridge).
    """

    def __init__(self, engine: RoutingEngine, send: Send, *,
                 on_ringing: Callable[[OfferRinging], None] | None = None,
                 caller_id_name: str = "Queue: {skill}", bridge_options: str = "p",
                 metrics: Metrics | None = None) -> None:
        self._bridge_options = bridge_options
        self._metrics = metrics
        self._engine = engine
        self._send = send
        self._on_ringing = on_ringing
        self._caller_id_name = caller_id_name
        self._calls: dict[str, _Queued] = {}
        self._pending: dict[str, _Pending] = {}  # call id -> the offer in flight
        self._cancelling: dict[str, tuple[_Pending, float]] = {}  # call id -> offer to hang up
        self.phones = Phones(engine)
        self._tasks = Tasks()
        self.originates_sent = 0
        self.originate_errors = 0
        self._last_event_at = engine.now()
        self.blind_since: float | None = None  # the link's silence before it went down

    # --- from the IVR ------------------------------------------------------------------------

    def enqueue(self, request: ev.CallRequest, caller_channel: str, caller_number: str = "",
                caller_name: str = "") -> None:
        """The IVR hands a call over to routing (the caller is on hold on ``caller_channel``)."""
        self._calls[request.call_id] = _Queued(request.call_id, caller_channel, caller_number,
                                               caller_name, request.skill)
        self._engine.submit(ev.CallEnqueued(request, self._engine.now()))

    def callback_accepted(self, call_id: str) -> None:
        """The caller chose a callback: the call leaves the queue."""
        self._engine.submit(ev.CallbackAccepted(call_id, self._engine.now()))

    # --- decisions ---------------------------------------------------------------------------

    def carry_out(self, decisions: list[Decision]) -> None:
        """Engine sink: Originate for each offer, Hangup for each cancelled one."""
        for decision in decisions:
            if isinstance(decision, Offer):
                self._offer(decision)
            elif isinstance(decision, CancelOffer):
                self._cancel(decision)

    def _offer(self, decision: Offer) -> None:
        queued = self._calls.get(decision.call_id)
        if queued is None:
            log.warning("routing_offer_unknown_call", call_id=decision.call_id)
            self._engine.submit(ev.CallHungUp(decision.call_id, self._engine.now()))
            return
        pending = _Pending(decision)
        self._pending[decision.call_id] = pending
        name = self._caller_id_name.format(skill=queued.skill).replace('"', "'")
        originate = messages.Originate(
            channel=decision.dial_string, application="Bridge",
            data=f"{queued.caller_channel},{self._bridge_options}",
            timeout_ms=int(decision.ring_timeout_s * 1000),
            caller_id=f'"{name}" <{queued.caller_number}>' if queued.caller_number else f'"{name}"',
            variables={"CC_CALL": decision.call_id, "CC_AGENT": decision.agent_id,
                       # a blind transfer from the agent's softphone (SIP REFER) goes there
                       "TRANSFER_CONTEXT": "cc-transfer"})
        answer: Awaitable[AmiResponse] | AmiError
        try:
            answer = self._send(originate)  # post: written now, in the decision's own turn
        except AmiError as exc:  # not written: reported by the task, as any failure
            answer = exc
        self._tasks.spawn(self._originate(pending, answer))

    async def _originate(self, pending: _Pending, answer: Awaitable[AmiResponse] | AmiError) -> None:
        decision = pending.decision
        try:
            if isinstance(answer, AmiError):
                raise answer
            await answer
            self.originates_sent += 1
        except AmiLinkLost as exc:
            # written, but the link went before the answer: Asterisk may still carry it out
            # (a frozen PBX reads it when it resumes). The reconcile after the reconnect looks
            # for the agent's leg and decides; until then no other offer is made.
            self.originate_errors += 1
            log.warning("routing_offer_unconfirmed", call_id=decision.call_id,
                        agent_id=decision.agent_id, error=str(exc))
            self._engine.submit(ev.OffersSuspended(self._engine.now()))
        except AmiNotConnected as exc:
            self.originate_errors += 1
            log.warning("routing_offer_not_sent", call_id=decision.call_id,
                        agent_id=decision.agent_id, error=str(exc))
            if self._pending.get(decision.call_id) is pending:
                del self._pending[decision.call_id]
                now = self._engine.now()
                self._engine.submit(ev.OffersSuspended(now))
                self._engine.submit(ev.OfferFailed(decision.call_id, decision.agent_id, "not_sent",
                                                   now))
        except AmiError as exc:
            self.originate_errors += 1
            log.warning("routing_offer_failed", call_id=decision.call_id,
                        agent_id=decision.agent_id, error=str(exc))
            if self._pending.get(decision.call_id) is pending:
                del self._pending[decision.call_id]
                self._engine.submit(ev.OfferFailed(decision.call_id, decision.agent_id, "failed",
                                                   self._engine.now()))

    def _cancel(self, decision: CancelOffer) -> None:
        pending = self._pending.get(decision.call_id)
        if pending is None or pending.decision.offer_id != decision.offer_id:
            return
        del self._pending[decision.call_id]
        pending.cancel_reason = decision.reason
        self._cancelling[decision.call_id] = (pending, self._engine.now())
        self._hang_up_agent(pending)

    def _hang_up_agent(self, pending: _Pending) -> None:
        """Hang up the agent's leg if it exists (else when it appears)."""
        channel = pending.agent_channel
        if not channel or channel in pending.hung_up:
            return
        pending.hung_up.add(channel)
        self._tasks.spawn(self._hangup(channel, pending.decision.call_id))

    async def _hangup(self, channel: str, call_id: str) -> None:
        try:
            await self._send(messages.hangup(channel))
        except AmiError as exc:  # the channel may be gone already: nothing left to stop
            log.info("routing_cancel_hangup_failed", call_id=call_id, channel=channel,
                     error=str(exc))

    # --- facts from the tracker --------------------------------------------------------------

    def on_call_event(self, event: CallEvent) -> None:
        """Dispatcher subscriber (the routing stage): what happened to a call."""
        if isinstance(event, OfferSent):
            self._sent(event)
        elif isinstance(event, AgentLegCreated):
            self._agent_channel(event.call_id, event.action_id, event.channel)
        elif isinstance(event, AgentRinging):
            self._ringing(event)
        elif isinstance(event, AgentAnswered):
            self._offer_answered(event)
        elif isinstance(event, Bridged):
            self._agent_channel(event.call_id, event.action_id, event.agent_channel)
        elif isinstance(event, AgentLegFailed):
            self._offer_failed(event)
        elif isinstance(event, AgentHungUp):
            self._talk_ended(event.call_id)
        elif isinstance(event, CallEnded):
            self._call_ended(event.call_id)

    def _sent(self, event: OfferSent) -> None:
        """The Originate of our offer went out: its ActionID names it from now on."""
        pending = self._pending.get(event.call_id)
        cancelling = self._cancelling.get(event.call_id)
        for candidate in (pending, cancelling[0] if cancelling is not None else None):
            if candidate is not None and candidate.action_id is None \
                    and event.dial_string == candidate.decision.dial_string \
                    and event.call_tag in ("", candidate.decision.call_id):
                candidate.action_id = event.action_id
                return

    def _ours(self, call_id: str, action_id: str) -> _Pending | None:
        pending = self._pending.get(call_id)
        if pending is not None and action_id and pending.action_id == action_id:
            return pending
        return None

    def _agent_channel(self, call_id: str, action_id: str, channel: str) -> None:
        """The offer's agent channel is known: hang it up if the offer was cancelled."""
        cancelling = self._cancelling.get(call_id)
        if cancelling is not None and action_id and cancelling[0].action_id == action_id:
            cancelling[0].agent_channel = channel
            self._hang_up_agent(cancelling[0])
        pending = self._ours(call_id, action_id)
        if pending is not None and channel:
            pending.agent_channel = channel

    def _ringing(self, event: AgentRinging) -> None:
        self._agent_channel(event.call_id, event.action_id, event.agent_channel)
        pending = self._ours(event.call_id, event.action_id)
        queued = self._calls.get(event.call_id)
        if pending is not None and queued is not None:
            self._tell_ringing(queued, pending.decision, event.agent_channel, self._engine.now())

    def _offer_answered(self, event: AgentAnswered) -> None:
        self._agent_channel(event.call_id, event.action_id, event.agent_channel)
        pending = self._ours(event.call_id, event.action_id)
        queued = self._calls.get(event.call_id)
        if pending is None or queued is None:
            return
        del self._pending[event.call_id]
        self.answered(event.call_id, pending.decision.agent_id, self._engine.now())

    def _offer_failed(self, event: AgentLegFailed) -> None:
        pending = self._ours(event.call_id, event.action_id)
        if pending is None or event.call_id not in self._calls:
            return
        del self._pending[event.call_id]
        # cancelled while the caller is still there: the agent rejected the ringing call
        result = OfferResult.NO_ANSWER if event.result is OfferResult.CANCELLED else event.result
        self._engine.submit(ev.OfferFailed(event.call_id, pending.decision.agent_id, result.value,
                                           self._engine.now()))

    def _talk_ended(self, call_id: str) -> None:
        """The connected agent hung up: their talk is over (the caller may go on to the survey)."""
        queued = self._calls.get(call_id)
        if queued is not None and queued.answered_by:
            agent_id, queued.answered_by = queued.answered_by, ""
            self._engine.submit(ev.TalkEnded(call_id, self._engine.now(), agent_id))

    def _call_ended(self, call_id: str) -> None:
        if self._calls.pop(call_id, None) is None:
            return
        now = self._engine.now()
        pending = self._pending.pop(call_id, None)
        if pending is not None:  # the caller left while the agent's phone rang
            pending.cancel_reason = "caller_hung_up"
            self._cancelling[call_id] = (pending, now)
            self._hang_up_agent(pending)
        self._prune_cancelling(now)
        self._engine.submit(ev.CallHungUp(call_id, now))

    def _tell_ringing(self, queued: _Queued, decision: Offer, agent_channel: str, now: float) -> None:
        if self._on_ringing is None:
            return
        try:
            self._on_ringing(OfferRinging(queued.call_id, decision.agent_id, queued.caller_channel,
                                          agent_channel, queued.caller_number, queued.caller_name,
                                          queued.skill, now))
        except Exception:
            count_caught(self._metrics, "routing_ringing_listener_failed")
            log.exception("routing_ringing_listener_failed", call_id=queued.call_id)

    def _prune_cancelling(self, now: float) -> None:
        if len(self._cancelling) > 256:
            self._cancelling = {k: v for k, v in self._cancelling.items() if v[1] >= now - 300.0}

    # --- phones and the link -------------------------------------------------------------------

    def on_ami_event(self, event: AmiEvent) -> None:
        """Feed every AMI event: phone reachability, and when the link last spoke."""
        self._last_event_at = self._engine.now()
        self.phones.on_ami_event(event)

    def on_link(self, state: str) -> None:
        """``AmiClient.observe_link``: no offers while the link is down."""
        now = self._engine.now()
        if state == "up":
            self._engine.submit(ev.OffersResumed(now))
        elif state == "down":
            if self.blind_since is None:
                # the server has been blind since the last event it got (a frozen PBX is
                # noticed only when its pings time out)
                self.blind_since = self._last_event_at
            self._engine.submit(ev.OffersSuspended(now))

    # --- for the reconcile after a reconnect ---------------------------------------------------

    def routed_call_ids(self) -> list[str]:
        """Calls routing knows: queued here, or on an agent in the router."""
        return list(self._calls) + [s.call_id for s in self._engine.agent_statuses() if s.call_id]

    def answered(self, call_id: str, agent_id: str, now: float) -> None:
        """The agent is connected to the call (seen live, or found so by the reconcile)."""
        self._pending.pop(call_id, None)
        queued = self._calls.get(call_id)
        if queued is not None:
            queued.answered_by = agent_id
        self._engine.submit(ev.OfferAnswered(call_id, agent_id, now))

    def talk_restored(self, call_id: str, agent_id: str, caller_channel: str, skill: str = "") -> None:
        """After a restart: the agent is found talking on a call routing did not know; its
        agent's hang-up and its end reach the router from now on (wrap-up as after any talk)."""
        self._calls[call_id] = _Queued(call_id, caller_channel, "", "", skill, answered_by=agent_id)
        self._engine.submit(ev.TalkRestored(call_id, agent_id, skill, self._engine.now()))

    def drop_offer(self, call_id: str) -> None:
        self._pending.pop(call_id, None)

    def talk_over(self, call_id: str) -> None:
        queued = self._calls.get(call_id)
        if queued is not None:
            queued.answered_by = ""

    def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        self._pending.pop(call_id, None)

    # --- housekeeping ------------------------------------------------------------------------

    async def wait_idle(self) -> None:
        """Wait until every AMI action started so far has been answered (tests, shutdown)."""
        await self._tasks.wait_idle()

    async def close(self) -> None:
        await self._tasks.cancel_all()

    def statistics(self) -> dict[str, Any]:
        return {"queued_calls": len(self._calls), "offers_in_flight": len(self._pending),
                "cancelling": len(self._cancelling), "originates_sent": self.originates_sent,
                "originate_errors": self.originate_errors}
