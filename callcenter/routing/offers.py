"""Carries out the router's offers over AMI, and tells the router what became of them.

Decisions in (:meth:`OfferAdapter.carry_out`, registered as an engine sink):

- ``Offer`` → ``Originate`` of the agent's dial string into ``Bridge(<caller channel>,p)``,
  ``Async: true``, ``Timeout`` = ring timeout, ``CC_CALL=<call id>`` (the tracker links the
  agent's channels to the call by it and by the dial-string prefix);
- ``CancelOffer`` → ``Hangup`` of the agent's channel (at once, or as soon as it exists).

Facts in: :meth:`on_call_changed` with the tracker's :class:`~callcenter.calls.model.Call` after
each event it applied (the offer's ``result``: ringing, answered, no_answer, busy, unavailable,
failed; the call's end; the agent leg's end), and :meth:`on_ami_event` for phone reachability
(``ContactStatus``, ``PeerStatus``, ``DeviceStateChange``). The adapter decides nothing: it
translates, and the router decides.

Asterisk facts this relies on (``shared/asterisk-lab``): a ring timeout is agent Hangup cause 19
then ``OriginateResponse`` Reason 3; a busy phone is cause 17 (the response's Reason is 0 for
busy *and* unregistered, so the tracker reads the cause); an unregistered phone gets an
``OriginateResponse`` Failure with no channel at all; ``ContactStatus: Unreachable`` /
``DeviceStateChange UNAVAILABLE`` mean the phone cannot ring until ``Reachable`` / ``NOT_INUSE``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from callcenter.agents.model import AgentState, device_of
from callcenter.ami import messages
from callcenter.ami.errors import AmiError, AmiLinkLost, AmiNotConnected
from callcenter.ami.messages import Action, AmiEvent, AmiResponse
from callcenter.calls.model import Call
from callcenter.calls.model import Offer as TrackedOffer
from callcenter.routing import events as ev
from callcenter.routing.decisions import CancelOffer, Decision, Offer
from callcenter.routing.engine import RoutingEngine
from callcenter.runtime.watchdog import report_failure

log = structlog.get_logger("callcenter.routing")

Send = Callable[[Action | messages.Originate], Awaitable[AmiResponse]]

_FAILED_RESULTS = ("no_answer", "busy", "unavailable", "failed")
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+(;[12])?$")
_DOWN_DEVICE_STATES = ("UNAVAILABLE", "INVALID")
_UP_DEVICE_STATES = ("NOT_INUSE", "INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD")
_CONTACT = {"Reachable": True, "Created": True, "NonQualified": True, "Updated": True,
            "Unreachable": False, "Removed": False}
_PEER = {"Reachable": True, "Registered": True, "Unreachable": False, "Unregistered": False}


def channel_device(channel: str) -> str:
    """The device a channel belongs to: ``PJSIP/1002-0000001a`` → ``PJSIP/1002``,
    ``Local/1001@sim-agent-00000007;1`` → ``Local/1001@sim-agent``."""
    return _CHANNEL_SUFFIX.sub("", channel)


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


@dataclass(slots=True)
class _Queued:
    call_id: str
    caller_channel: str
    caller_number: str
    caller_name: str
    skill: str
    answered_by: str = ""
    talk_ended: bool = False
    last_bound: TrackedOffer | None = None  # the tracker's offer of our previous offer


@dataclass(slots=True, eq=False)
class _Pending:
    decision: Offer
    tracked: TrackedOffer | None = None
    ringing_told: bool = False
    cancel_reason: str = ""
    hung_up: set[str] = field(default_factory=set)


class OfferAdapter:
    """The AMI edge of routing.

    Args:
        engine: where facts go (``submit``) and whose clock stamps them.
        send: the AMI link's ``send`` (``AmiClient.send``).
        on_ringing: the screen-pop hook, called when the agent's phone starts ringing.
        caller_id_name: the name shown on the agent's phone (``{skill}`` is replaced).
        bridge_options: options of the ``Bridge`` the agent leg runs: ``p`` (a tone to the
            caller), plus ``F(survey^s^1)`` to send the caller to the post-call survey when the
            agent hangs up first: one option string, ``pF(survey^s^1)`` (a comma between
            options is an unrecognised option to Asterisk's Bridge).
    """

    def __init__(self, engine: RoutingEngine, send: Send, *,
                 on_ringing: Callable[[OfferRinging], None] | None = None,
                 caller_id_name: str = "Queue: {skill}", bridge_options: str = "p") -> None:
        self._bridge_options = bridge_options
        self._engine = engine
        self._send = send
        self._on_ringing = on_ringing
        self._caller_id_name = caller_id_name
        self._calls: dict[str, _Queued] = {}
        self._pending: dict[str, _Pending] = {}  # call id -> the offer in flight
        self._cancelling: dict[str, tuple[_Pending, float]] = {}  # call id -> offer to hang up
        self._reachable: dict[str, bool] = {}  # agent id -> last known
        self._devices: dict[str, str] = {}
        self._devices_version = -1
        self._tasks: set[asyncio.Task[None]] = set()
        self.originates_sent = 0
        self.originate_errors = 0
        self._last_event_at = engine.now()
        self._blind_since: float | None = None

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
            variables={"CC_CALL": decision.call_id})
        self._spawn(self._originate(pending, originate))

    async def _originate(self, pending: _Pending, originate: messages.Originate) -> None:
        decision = pending.decision
        try:
            await self._send(originate)
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
        offer = pending.tracked
        channel = offer.agent_channel if offer is not None else ""
        if not channel or channel in pending.hung_up:
            return
        pending.hung_up.add(channel)
        self._spawn(self._hangup(channel, pending.decision.call_id))

    async def _hangup(self, channel: str, call_id: str) -> None:
        try:
            await self._send(messages.hangup(channel))
        except AmiError as exc:  # the channel may be gone already: nothing left to stop
            log.info("routing_cancel_hangup_failed", call_id=call_id, channel=channel,
                     error=str(exc))

    # --- facts from the tracker --------------------------------------------------------------

    def on_call_changed(self, call: Call) -> None:
        """Call after the tracker applied an event or an action to ``call``."""
        call_id = call.linkedid
        cancelling = self._cancelling.get(call_id)
        if cancelling is not None:
            self._bind(call, cancelling[0], None)
            self._hang_up_agent(cancelling[0])
        queued = self._calls.get(call_id)
        if queued is None:
            return
        now = self._engine.now()
        pending = self._pending.get(call_id)
        if pending is not None:
            self._follow(call, queued, pending, now)
        if not call.live:
            self._calls.pop(call_id, None)
            pending = self._pending.pop(call_id, None)
            if pending is not None:  # the caller left while the agent's phone rang
                pending.cancel_reason = "caller_hung_up"
                self._cancelling[call_id] = (pending, now)
                self._hang_up_agent(pending)
            self._prune_cancelling(now)
            self._engine.submit(ev.CallHungUp(call_id, now))
            return
        agent_leg = call.agent
        if queued.answered_by and not queued.talk_ended and agent_leg is not None \
                and agent_leg.ended_at is not None:
            queued.talk_ended = True
            self._engine.submit(ev.TalkEnded(call_id, now))

    @staticmethod
    def _bind(call: Call, pending: _Pending, previous: TrackedOffer | None) -> TrackedOffer | None:
        """The tracker's record of our offer: the newest one, if it is not our previous one
        (offers to a call are sequential, and the tracker appends each when it is sent)."""
        if pending.tracked is None and call.offers:
            offer = call.offers[-1]
            if offer is not previous and offer.dial_string == pending.decision.dial_string \
                    and offer.call_tag in ("", pending.decision.call_id):
                pending.tracked = offer
        return pending.tracked

    def _follow(self, call: Call, queued: _Queued, pending: _Pending, now: float) -> None:
        offer = self._bind(call, pending, queued.last_bound)
        if offer is None:
            return
        queued.last_bound = offer
        decision = pending.decision
        answered = offer.result == "answered" or (
            call.agent is not None and call.agent.offer is offer and call.bridged_at is not None)
        if (offer.result == "ringing" or answered) and not pending.ringing_told:
            pending.ringing_told = True
            self._tell_ringing(queued, decision, offer.agent_channel, now)
        if answered:
            del self._pending[queued.call_id]
            queued.answered_by = decision.agent_id
            self._engine.submit(ev.OfferAnswered(queued.call_id, decision.agent_id, now))
        elif offer.result in _FAILED_RESULTS or (offer.result == "cancelled" and call.live):
            # "cancelled" while the caller is still there: the agent rejected the ringing call
            del self._pending[queued.call_id]
            result = offer.result if offer.result != "cancelled" else "no_answer"
            self._engine.submit(ev.OfferFailed(queued.call_id, decision.agent_id, result, now))

    def _tell_ringing(self, queued: _Queued, decision: Offer, agent_channel: str, now: float) -> None:
        if self._on_ringing is None:
            return
        try:
            self._on_ringing(OfferRinging(queued.call_id, decision.agent_id, queued.caller_channel,
                                          agent_channel, queued.caller_number, queued.caller_name,
                                          queued.skill, now))
        except Exception:
            log.exception("routing_ringing_listener_failed", call_id=queued.call_id)

    def _prune_cancelling(self, now: float) -> None:
        if len(self._cancelling) > 256:
            self._cancelling = {k: v for k, v in self._cancelling.items() if v[1] >= now - 300.0}

    # --- phones ------------------------------------------------------------------------------

    def on_ami_event(self, event: AmiEvent) -> None:
        """Feed every AMI event (cheap for the ones that are not about phones)."""
        self._last_event_at = self._engine.now()
        name = event.name
        if name == "DeviceStateChange":
            state = event.get("State")
            if state in _DOWN_DEVICE_STATES:
                self._phone(event.get("Device"), False)
            elif state in _UP_DEVICE_STATES:
                self._phone(event.get("Device"), True)
        elif name == "ContactStatus":
            up = _CONTACT.get(event.get("ContactStatus"))
            endpoint = event.get("EndpointName") or event.get("AOR")
            if up is not None and endpoint:
                self._phone(f"PJSIP/{endpoint}", up)
        elif name == "PeerStatus":
            up = _PEER.get(event.get("PeerStatus"))
            if up is not None:
                self._phone(event.get("Peer"), up)

    def _phone(self, device: str, up: bool) -> None:
        agent_id = self._agent_for_device(device)
        if agent_id is None or self._reachable.get(agent_id, True) == up:
            return
        self._reachable[agent_id] = up
        now = self._engine.now()
        self._engine.submit(ev.PhoneReachable(agent_id, now) if up else
                            ev.PhoneUnreachable(agent_id, now))

    def agent_for_channel(self, channel: str) -> str | None:
        """The agent whose phone ``channel`` is (``PJSIP/1002-0000001a``), if any."""
        return self._agent_for_device(channel_device(channel))

    def _agent_for_device(self, device: str) -> str | None:
        book = self._engine.router.book
        if self._devices_version != book.profiles_version:
            self._devices = {device_of(a.profile.dial_string): a.agent_id
                             for a in book.agents.values()}
            self._devices_version = book.profiles_version
        return self._devices.get(device)

    # --- the link ----------------------------------------------------------------------------

    def on_link(self, state: str) -> None:
        """``AmiClient.observe_link``: no offers while the link is down."""
        now = self._engine.now()
        if state == "up":
            self._engine.submit(ev.OffersResumed(now))
        elif state == "down":
            if self._blind_since is None:
                # the server has been blind since the last event it got (a frozen PBX is
                # noticed only when its pings time out)
                self._blind_since = self._last_event_at
            self._engine.submit(ev.OffersSuspended(now))

    def reconcile(self, call_of: Callable[[str], Call | None]) -> dict[str, int]:
        """After a reconnect, once the tracker holds what Asterisk reports: make every agent's
        routing state match the legs that really exist. Returns what was corrected, by kind.

        - offered, but the call is gone: the call is hung up for routing; offered with no agent
          leg at all: the offer was never carried out (not a miss); offered and bridged: answered;
        - talking, but the call is gone or the agent's leg is: the talk is over (wrap-up);
        - an agent with a live leg bridged to a call the router does not see them on: answered
          there (reality wins);
        - paused "missed" for an offer that timed out while the server was blind: ready again.
        """
        router = self._engine.router
        now = self._engine.now()
        fixed: dict[str, int] = {}

        def note(kind: str) -> None:
            fixed[kind] = fixed.get(kind, 0) + 1

        legs = self._live_agent_legs(call_of)
        for status in router.agent_statuses():
            agent_id, call_id = status.agent_id, status.call_id
            leg_call = legs.get(agent_id)
            if status.state is AgentState.OFFERED and call_id is not None:
                call = call_of(call_id)
                if call is None or not call.live:
                    self._forget(call_id)
                    self._engine.submit(ev.CallHungUp(call_id, now))
                    note("offer_call_gone")
                elif leg_call is not None and leg_call[0] == call_id and leg_call[1]:
                    self._answered(call_id, agent_id, now)
                    note("offer_answered")
                elif leg_call is None or leg_call[0] != call_id:
                    self._pending.pop(call_id, None)
                    self._engine.submit(ev.OfferFailed(call_id, agent_id, "not_sent", now))
                    note("offer_without_leg")
            elif status.state is AgentState.TALKING and call_id is not None:
                call = call_of(call_id)
                if call is None or not call.live:
                    self._forget(call_id)
                    self._engine.submit(ev.CallHungUp(call_id, now))
                    note("talk_call_gone")
                elif leg_call is None or leg_call[0] != call_id:
                    queued = self._calls.get(call_id)
                    if queued is not None:
                        queued.talk_ended = True
                    self._engine.submit(ev.TalkEnded(call_id, now))
                    note("talk_without_leg")
            elif leg_call is not None and leg_call[1] and status.call_id != leg_call[0] \
                    and status.state is not AgentState.TALKING:
                self._answered(leg_call[0], agent_id, now)
                note("answered_unseen")
            elif status.state is AgentState.PAUSED and status.reason == "missed" \
                    and self._blind_since is not None and status.since >= self._blind_since:
                self._engine.submit(ev.AgentReady(agent_id, now))
                note("missed_while_blind")
        self._blind_since = None
        if fixed:
            log.warning("routing_reconciled", **fixed)
        return fixed

    def _live_agent_legs(self, call_of: Callable[[str], Call | None]) -> dict[str, tuple[str, bool]]:
        """Agent id -> (call id, bridged) for every live agent leg of a call routing knows."""
        out: dict[str, tuple[str, bool]] = {}
        for call_id in list(self._calls) + [s.call_id for s in self._engine.router.agent_statuses()
                                             if s.call_id]:
            call = call_of(call_id)
            if call is None or not call.live:
                continue
            for leg in call.legs.values():
                if leg.uniqueid == call.caller_uniqueid or leg.ended_at is not None:
                    continue
                agent_id = self._agent_for_device(channel_device(leg.channel))
                if agent_id is not None:
                    bridged = call.agent is leg and call.bridged_at is not None
                    if bridged or agent_id not in out:
                        out[agent_id] = (call_id, bridged)
        return out

    def _answered(self, call_id: str, agent_id: str, now: float) -> None:
        self._pending.pop(call_id, None)
        queued = self._calls.get(call_id)
        if queued is not None:
            queued.answered_by = agent_id
        self._engine.submit(ev.OfferAnswered(call_id, agent_id, now))

    def _forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        self._pending.pop(call_id, None)

    # --- housekeeping ------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(report_failure)

    async def wait_idle(self) -> None:
        """Wait until every AMI action started so far has been answered (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def statistics(self) -> dict[str, Any]:
        return {"queued_calls": len(self._calls), "offers_in_flight": len(self._pending),
                "cancelling": len(self._cancelling), "originates_sent": self.originates_sent,
                "originate_errors": self.originate_errors}
