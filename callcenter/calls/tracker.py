"""The call tracker: a pure reducer from AMI traffic to calls.

It does no I/O. Feed it every event Asterisk sends (:meth:`CallTracker.apply_event`) and every
action the server sends (:meth:`CallTracker.apply_action`); read the calls back. Each ``apply``
returns the keys of the calls it changed, so an adapter can persist just those.

Asterisk quirks this relies on (all seen in ``shared/asterisk-lab``):

- Local channels come in halves ``;1``/``;2``; the ``;2`` half of an inbound Local pair runs
  the dialplan (it is the caller's channel), the ``;1`` half of an agent pair is the one bridged.
- After a bridge the agent's ``;1`` half takes the caller's ``Linkedid``; its ``;2`` half keeps
  its own, so halves are paired by name, not by Linkedid.
- ``OriginateResponse`` ``Reason`` is 0 both for a busy phone and an unregistered one; the
  Hangup cause (17 busy, 19 no answer) tells them apart.
- A channel pulled out of AsyncAGI by Bridge gets no AsyncAGIEnd: the call ends on Hangup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from callcenter.ami.messages import Action, AmiEvent
from callcenter.calls.model import Call, CallState, Leg, Offer, Outcome, Side

_SERVER_HANGUP_WINDOW_S = 30.0


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Dialplan facts the tracker needs: which contexts carry inbound calls and the survey."""

    inbound_contexts: frozenset[str] = frozenset({"inbound"})
    survey_contexts: frozenset[str] = frozenset({"survey"})
    call_tag_variable: str = "CC_CALL"


def local_base(channel: str) -> tuple[str, str] | None:
    """``Local/4001@inbound-00000006;2`` → (``Local/4001@inbound-00000006``, ``2``)."""
    if not channel.startswith("Local/"):
        return None
    base, sep, half = channel.rpartition(";")
    if not sep or half not in ("1", "2"):
        return None
    return base, half


def dial_prefix(dial_string: str) -> str:
    """The channel-name prefix an Originate's dial string produces.

    ``PJSIP/1002`` → ``PJSIP/1002-``; ``Local/1001@sim-agent/n`` → ``Local/1001@sim-agent-``.
    """
    tech, _, rest = dial_string.partition("/")
    rest = rest.split("/", 1)[0]
    if tech != "Local":
        rest = rest.split("@", 1)[0]
    return f"{tech}/{rest}-"


def offer_result_for_cause(cause: int | None) -> str:
    if cause == 19 or cause == 18:
        return "no_answer"
    if cause == 17:
        return "busy"
    if cause in (20, 3, 1, 27, 38):
        return "unavailable"
    if cause == 16:
        return "cancelled"
    return "failed"


class CallTracker:
    """Calls grouped by Linkedid, rebuilt from AMI events and the server's own actions.

    Args:
        config: inbound/survey contexts and the call-tag variable.
        on_ended: called with each call when its caller channel hangs up.
    """

    def __init__(self, config: TrackerConfig | None = None,
                 on_ended: Callable[[Call], None] | None = None) -> None:
        self.config = config or TrackerConfig()
        self.calls: dict[str, Call] = {}
        self._on_ended = on_ended
        self._leg_call: dict[str, str] = {}  # uniqueid -> call key
        self._by_name: dict[str, str] = {}  # live channel name -> uniqueid
        self._offers_by_action: dict[str, tuple[str, Offer]] = {}
        self._offers_by_tag: dict[str, tuple[str, Offer]] = {}
        self._open_offers: list[tuple[str, str, Offer]] = []  # (prefix, call key, offer)
        self._bridges: dict[str, set[str]] = {}
        self._server_hangups: dict[str, float] = {}
        self.merged: dict[str, str] = {}  # absorbed call key -> surviving call key
        self._handlers: dict[str, Callable[[AmiEvent], str | None]] = {
            "Newchannel": self._newchannel,
            "Newstate": self._newstate,
            "NewCallerid": self._newcallerid,
            "DialBegin": self._dialbegin,
            "DialState": self._dialstate,
            "DialEnd": self._dialend,
            "AsyncAGIStart": self._agi_start,
            "AsyncAGIEnd": self._agi_end,
            "DTMFEnd": self._dtmf_end,
            "MusicOnHoldStart": self._moh_start,
            "BridgeEnter": self._bridge_enter,
            "BridgeLeave": self._bridge_leave,
            "VarSet": self._varset,
            "MixMonitorMute": self._mixmonitor_mute,
            "SoftHangupRequest": self._hangup_request,
            "HangupRequest": self._hangup_request,
            "Hangup": self._hangup,
            "OriginateResponse": self._originate_response,
        }

    # --- public ---------------------------------------------------------------------------

    def apply_event(self, event: AmiEvent) -> str | None:
        """Reduce one event; returns the key of the call it changed, if any."""
        handler = self._handlers.get(event.frame.fields.get("Event", ""))
        if handler is None:
            return None
        fields = event.frame.fields
        if "ActionID" in fields and event.name != "OriginateResponse":
            return None  # list items answer a resync, not live traffic
        return handler(event)

    def apply_action(self, action: Action, action_id: str, at: float) -> str | None:
        """Reduce one action the server sent (offers, server hang-ups, recordings)."""
        if action.name == "Originate" and action.header("Application").lower() == "bridge":
            return self._offer(action, action_id, at)
        if action.name == "Hangup":
            channel = action.header("Channel")
            if len(self._server_hangups) > 1024:
                self._server_hangups = {c: t for c, t in self._server_hangups.items()
                                        if at - t <= _SERVER_HANGUP_WINDOW_S}
            self._server_hangups[channel] = at
            key = self._call_of_channel(channel)
            return key
        if action.name == "MixMonitor":
            return self._recording(action)
        return None

    def call_for_channel(self, channel: str) -> Call | None:
        key = self._call_of_channel(channel)
        return self.calls.get(key) if key else None

    def call_key_for_uniqueid(self, uniqueid: str) -> str | None:
        return self._leg_call.get(uniqueid)

    def live_calls(self) -> list[Call]:
        return [call for call in self.calls.values() if call.live]

    def forget(self, key: str) -> None:
        """Drop an ended call whose legs are all gone (after it was persisted)."""
        call = self.calls.get(key)
        if call is None or call.live or any(leg.ended_at is None for leg in call.legs.values()):
            return
        del self.calls[key]
        for uid in call.legs:
            self._leg_call.pop(uid, None)

    # --- grouping -------------------------------------------------------------------------

    def _call_of_channel(self, channel: str) -> str | None:
        uid = self._by_name.get(channel)
        return self._leg_call.get(uid) if uid else None

    def _leg(self, event: AmiEvent) -> tuple[Call, Leg] | None:
        fields = event.frame.fields
        uid = fields.get("Uniqueid", "")
        key = self._leg_call.get(uid)
        if key is None:
            return None
        call = self.calls[key]
        leg = call.legs[uid]
        linkedid = fields.get("Linkedid", "")
        if linkedid and linkedid != leg.linkedid:
            leg.linkedid = linkedid
            other = self._leg_call.get(linkedid)
            if other is not None and other != key:
                call = self._join(uid, other)
        return call, leg

    def _merge(self, src_key: str, dst_key: str) -> Call:
        """Move every leg of ``src`` into ``dst`` (the older call, the caller's)."""
        src, dst = self.calls[src_key], self.calls[dst_key]
        if src.arrived_at < dst.arrived_at and src.caller_uniqueid and not dst.caller_uniqueid:
            src, dst, src_key, dst_key = dst, src, dst_key, src_key
        for uid, leg in src.legs.items():
            if leg.side is Side.CALLER and dst.caller_uniqueid:
                leg.side = Side.AGENT
                if leg.role == "caller":
                    leg.role = "agent"
            dst.legs[uid] = leg
            self._leg_call[uid] = dst_key
        dst.offers.extend(o for o in src.offers if o not in dst.offers)
        dst.recordings.extend(r for r in src.recordings if r not in dst.recordings)
        del self.calls[src_key]
        self.merged[src_key] = dst_key
        return dst

    def _new_leg(self, key: str, uid: str, channel: str, linkedid: str, role: str, side: Side,
                 at: float, offer: Offer | None = None, fields: dict[str, str] | None = None) -> Leg:
        leg = Leg(uid, channel, linkedid, role, side, at, offer=offer)
        if fields is not None:
            leg.caller_number = _clean(fields.get("CallerIDNum", ""))
            leg.caller_name = _clean(fields.get("CallerIDName", ""))
        self.calls[key].legs[uid] = leg
        self._leg_call[uid] = key
        self._by_name[channel] = uid
        return leg

    def _match_offer(self, channel: str) -> tuple[str, Offer] | None:
        """The newest open offer whose dial string makes this channel (an agent rings for one
        call at a time, so an older open offer to the same phone is stale)."""
        self._open_offers = [o for o in self._open_offers if o[2].open and o[1] in self.calls]
        for i in range(len(self._open_offers) - 1, -1, -1):
            prefix, key, offer = self._open_offers[i]
            if channel.startswith(prefix):
                if local_base(channel) is None or channel.endswith(";1"):
                    del self._open_offers[i]
                return key, offer
        return None

    def _move_leg(self, uid: str, dst_key: str) -> Call:
        """Move one channel (and its Local partner) into another call, leaving the rest of
        its current call alone: two customers' calls are never merged."""
        src_key = self._leg_call[uid]
        src, dst = self.calls[src_key], self.calls[dst_key]
        moving = [uid]
        pair = local_base(src.legs[uid].channel)
        if pair is not None:
            partner = self._by_name.get(f"{pair[0]};{'1' if pair[1] == '2' else '2'}")
            if partner is not None and partner in src.legs:
                moving.append(partner)
        for moved in moving:
            leg = src.legs.pop(moved)
            dst.legs[moved] = leg
            self._leg_call[moved] = dst_key
        if not src.legs:
            del self.calls[src_key]
            self.merged[src_key] = dst_key
        return dst

    def _join(self, uid: str, dst_key: str) -> Call:
        """Bring a channel into ``dst_key``: the whole group when it is an agent-only group, just
        the channel when its current call belongs to another caller."""
        src = self.calls[self._leg_call[uid]]
        caller = src.caller
        if caller is not None and caller.uniqueid not in (uid, *self._partners(src, uid)):
            return self._move_leg(uid, dst_key)
        return self._merge(self._leg_call[uid], dst_key)

    def _partners(self, call: Call, uid: str) -> tuple[str, ...]:
        pair = local_base(call.legs[uid].channel)
        if pair is None:
            return ()
        partner = self._by_name.get(f"{pair[0]};{'1' if pair[1] == '2' else '2'}")
        return (partner,) if partner is not None else ()

    # --- event handlers -------------------------------------------------------------------

    def _newchannel(self, event: AmiEvent) -> str | None:
        f = event.frame.fields
        uid, channel, linkedid = f.get("Uniqueid", ""), f.get("Channel", ""), f.get("Linkedid", "")
        if not uid or uid in self._leg_call:
            return None
        at = event.received_at
        pair = local_base(channel)
        partner_key: str | None = None
        partner: Leg | None = None
        if pair is not None:
            other_uid = self._by_name.get(f"{pair[0]};{'1' if pair[1] == '2' else '2'}")
            if other_uid is not None and other_uid in self._leg_call:
                partner_key = self._leg_call[other_uid]
                partner = self.calls[partner_key].legs[other_uid]
        if partner_key is not None and partner is not None:
            call = self.calls[partner_key]
            if partner.side is Side.AGENT:
                role = "local" if pair and pair[1] == "2" else "agent"
                self._new_leg(partner_key, uid, channel, linkedid, role, Side.AGENT, at, partner.offer,
                              fields=f)
            else:
                self._new_leg(partner_key, uid, channel, linkedid, "caller", Side.CALLER, at, fields=f)
                call.caller_uniqueid = uid
                partner.role = "local"
            return partner_key
        matched = self._match_offer(channel)
        if matched is not None:
            key, offer = matched
            role = "local" if pair and pair[1] == "2" else "agent"
            self._new_leg(key, uid, channel, linkedid, role, Side.AGENT, at, offer, fields=f)
            if role == "agent":
                offer.agent_channel, offer.agent_uniqueid = channel, uid
            return key
        linked_key = self._leg_call.get(linkedid) if linkedid != uid else None
        if linked_key is not None:
            self._new_leg(linked_key, uid, channel, linkedid, "other", Side.CALLER, at, fields=f)
            return linked_key
        key = linkedid or uid
        if key in self.calls:
            key = uid
        self.calls[key] = Call(linkedid=key, arrived_at=at)
        is_outer_half = pair is not None and pair[1] == "1"
        self._new_leg(key, uid, channel, linkedid, "local" if is_outer_half else "caller",
                      Side.CALLER, at, fields=f)
        if not is_outer_half:
            self.calls[key].caller_uniqueid = uid
        return key

    def _newstate(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        if event.get("ChannelStateDesc") == "Up" and leg.answered_at is None:
            leg.answered_at = event.received_at
            if leg.offer is not None and leg.role == "agent" and leg.offer.open:
                leg.offer.result = "answered"
        elif event.get("ChannelStateDesc") == "Ringing" and leg.offer is not None:
            self._ringing(call, leg.offer)
        return call.linkedid

    def _ringing(self, call: Call, offer: Offer) -> None:
        if offer.result == "pending":
            offer.result = "ringing"
        if call.state in (CallState.IVR, CallState.QUEUED):
            call.state = CallState.OFFERED

    def _newcallerid(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        leg.caller_number = _clean(event.get("CallerIDNum"))
        leg.caller_name = _clean(event.get("CallerIDName"))
        return call.linkedid

    def _dialbegin(self, event: AmiEvent) -> str | None:
        """The caller's own channel dials someone (the dialplan's safety net rings the agents'
        hunt group): the destination is an agent leg of this call, answered when it bridges."""
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        dest = call.legs.get(event.get("DestUniqueid"))
        if leg.uniqueid != call.caller_uniqueid or dest is None or dest is leg \
                or dest.side is Side.AGENT:
            return call.linkedid
        dest.side, dest.role = Side.AGENT, "agent"
        return call.linkedid

    def _dialstate(self, event: AmiEvent) -> str | None:
        key = self._leg_call.get(event.get("DestUniqueid"))
        if key is None:
            return None
        call = self.calls[key]
        leg = call.legs[event.get("DestUniqueid")]
        if event.get("DialStatus") == "RINGING" and leg.offer is not None:
            self._ringing(call, leg.offer)
        return key

    def _dialend(self, event: AmiEvent) -> str | None:
        key = self._leg_call.get(event.get("DestUniqueid"))
        if key is None:
            return None
        self.calls[key].legs[event.get("DestUniqueid")].dial_status = event.get("DialStatus")
        return key

    def _agi_start(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        if leg.side is Side.CALLER:
            if not call.caller_uniqueid or call.legs[call.caller_uniqueid].role != "caller":
                call.caller_uniqueid = leg.uniqueid
            leg.agi_ended = False
            if event.get("Context") in self.config.survey_contexts:
                call.in_survey = True
            if call.state is not CallState.TALKING:
                call.state = CallState.IVR
        return call.linkedid

    def _agi_end(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        found[1].agi_ended = True
        return found[0].linkedid

    def _dtmf_end(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        if leg.uniqueid == call.caller_uniqueid and event.get("Direction") == "Received":
            digit = event.get("Digit")
            if len(digit) == 1 and digit in "0123456789*#ABCD" and len(call.digits) < 256:
                call.digits += digit
        return call.linkedid

    def _moh_start(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        if leg.uniqueid == call.caller_uniqueid and call.state is CallState.IVR and not call.in_survey:
            call.state = CallState.QUEUED
            if call.queued_at is None:
                call.queued_at = event.received_at
        return call.linkedid

    def _bridge_enter(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        bridge_id = event.get("BridgeUniqueid")
        leg.bridge_id = bridge_id
        members = self._bridges.setdefault(bridge_id, set())
        members.add(leg.uniqueid)
        for uid in list(members):
            other_key = self._leg_call.get(uid)
            if other_key is not None and other_key != call.linkedid and other_key in self.calls:
                call = self._merge(other_key, call.linkedid)
        self._check_talking(call, bridge_id, event.received_at)
        return call.linkedid

    def _check_talking(self, call: Call, bridge_id: str, at: float) -> None:
        members = self._bridges.get(bridge_id, set())
        if call.caller_uniqueid not in members:
            return
        for uid in members:
            leg = call.legs.get(uid)
            if leg is not None and leg.side is Side.AGENT and leg.ended_at is None:
                leg.role = "agent"
                call.agent_uniqueid = uid
                call.state = CallState.TALKING
                if call.bridged_at is None:
                    call.bridged_at = at
                if call.answered_at is None:
                    call.answered_at = leg.answered_at or at
                if leg.offer is not None:
                    leg.offer.result = "answered"
                    leg.offer.agent_channel, leg.offer.agent_uniqueid = leg.channel, uid
                return

    def _bridge_leave(self, event: AmiEvent) -> str | None:
        bridge_id = event.get("BridgeUniqueid")
        members = self._bridges.get(bridge_id)
        if members is not None:
            members.discard(event.get("Uniqueid"))
            if not members:
                del self._bridges[bridge_id]
        found = self._leg(event)
        if found is None:
            return None
        found[1].bridge_id = ""
        return found[0].linkedid

    def _varset(self, event: AmiEvent) -> str | None:
        variable = event.get("Variable")
        if variable == self.config.call_tag_variable:
            return self._tagged(event)
        if variable == "MIXMONITOR_FILENAME":
            found = self._leg(event)
            if found is None:
                return None
            call = found[0]
            path = event.get("Value")
            if path and path not in call.recordings:
                call.recordings.insert(0, path)
            return call.linkedid
        return None

    def _tagged(self, event: AmiEvent) -> str | None:
        entry = self._offers_by_tag.get(event.get("Value"))
        uid = event.get("Uniqueid")
        current = self._leg_call.get(uid)
        if entry is None or current is None:
            return current
        key, offer = entry
        if key not in self.calls:
            key = self.merged.get(key, key)
        if current != key and key in self.calls:
            leg = self.calls[current].legs[uid]
            leg.side, leg.offer = Side.AGENT, offer
            if leg.role == "caller":
                leg.role = "agent"
            self._join(uid, key)
        return key

    def _mixmonitor_mute(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call = found[0]
        if event.get("State") == "1":
            call.recording_pauses.append((event.received_at, None))
        elif call.recording_pauses and call.recording_pauses[-1][1] is None:
            call.recording_pauses[-1] = (call.recording_pauses[-1][0], event.received_at)
        return call.linkedid

    def _hangup_request(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        if call.first_hangup is None and call.live and not _unanswered_offer_leg(leg):
            call.first_hangup = (leg.uniqueid, event.name)
        return call.linkedid

    def _hangup(self, event: AmiEvent) -> str | None:
        found = self._leg(event)
        if found is None:
            return None
        call, leg = found
        at = event.received_at
        leg.ended_at = at
        leg.hangup_cause = event.cause
        self._by_name.pop(leg.channel, None)
        if leg.bridge_id:
            members = self._bridges.get(leg.bridge_id)
            if members is not None:
                members.discard(leg.uniqueid)
        offer = leg.offer
        if offer is not None and offer.open and leg.role == "agent":
            offer.result = offer_result_for_cause(leg.hangup_cause)
            offer.cause = leg.hangup_cause
            offer.ended_at = at
            if call.state is CallState.OFFERED:
                call.state = CallState.QUEUED
        if leg.uniqueid == call.caller_uniqueid and call.live:
            self._end_call(call, leg, at)
        return call.linkedid

    def _end_call(self, call: Call, caller: Leg, at: float) -> None:
        state_at_end = call.state
        call.ended_at = at
        call.hangup_cause = caller.hangup_cause
        call.hangup_by = self._who_hung_up(call, caller)
        for offer in call.offers:
            if offer.open:
                offer.result, offer.ended_at = "cancelled", at
        if call.answered_at is not None:
            call.outcome = Outcome.ANSWERED
        elif state_at_end is CallState.IVR:
            call.outcome = Outcome.IVR_HANGUP
        elif call.hangup_by == "caller":
            call.outcome = Outcome.ABANDONED
        else:
            call.outcome = Outcome.FAILED
        call.state = CallState.ENDED
        if self._on_ended is not None:
            self._on_ended(call)

    def _who_hung_up(self, call: Call, caller: Leg) -> str:
        sent = [self._server_hangups.pop(leg.channel, None) for leg in call.legs.values()
                 if leg.side is Side.CALLER or leg.uniqueid == call.agent_uniqueid]
        if any(t is not None and at_or_before(t, caller.ended_at) for t in sent):
            return "server"
        first = call.legs.get(call.first_hangup[0]) if call.first_hangup else None
        if first is None:
            return "caller"
        if first.side is Side.AGENT:
            return "agent"
        if first is caller and call.first_hangup and call.first_hangup[1] == "SoftHangupRequest" \
                and first.agi_ended:
            return "system"
        return "caller"

    def _originate_response(self, event: AmiEvent) -> str | None:
        entry = self._offers_by_action.pop(event.action_id, None)
        if entry is None:
            return None
        key, offer = entry
        key = self.merged.get(key, key)
        if event.get("Response") == "Success":
            return key if key in self.calls else None
        if offer.open:
            reason = event.get("Reason")
            offer.reason = reason
            if not offer.agent_uniqueid:
                offer.result = {"3": "no_answer", "5": "busy", "8": "unavailable"}.get(
                    reason, "unavailable")
            offer.ended_at = event.received_at
        self._open_offers = [o for o in self._open_offers if o[2] is not offer]
        call = self.calls.get(key)
        if call is not None and call.state is CallState.OFFERED and not any(
                o.open for o in call.offers):
            call.state = CallState.QUEUED
        return key if call is not None else None

    # --- actions --------------------------------------------------------------------------

    def _offer(self, action: Action, action_id: str, at: float) -> str | None:
        caller_channel = action.header("Data").split(",", 1)[0]
        key = self._call_of_channel(caller_channel)
        if key is None:
            return None
        tag = ""
        for name, value in action.headers:
            if name == "Variable" and value.startswith(f"{self.config.call_tag_variable}="):
                tag = value.split("=", 1)[1]
        dial = action.header("Channel")
        offer = Offer(action_id, dial, caller_channel, at, call_tag=tag)
        call = self.calls[key]
        call.offers.append(offer)
        self._offers_by_action[action_id] = (key, offer)
        if tag:
            self._offers_by_tag[tag] = (key, offer)
        self._open_offers.append((dial_prefix(dial), key, offer))
        if call.state in (CallState.IVR, CallState.QUEUED):
            call.state = CallState.OFFERED
        return key

    def _recording(self, action: Action) -> str | None:
        key = self._call_of_channel(action.header("Channel"))
        if key is None:
            return None
        call = self.calls[key]
        paths = [action.header("File")]
        options = action.header("Options")
        for flag in ("r(", "t("):
            start = options.find(flag)
            if start >= 0:
                end = options.find(")", start)
                paths.append(options[start + 2:end])
        for path in paths:
            if path and path not in call.recordings:
                call.recordings.append(path)
        return key

    # --- resync ---------------------------------------------------------------------------

    def rebuild(self, channels: Iterable[AmiEvent], bridges: Iterable[AmiEvent], now: float,
                asked_at: float | None = None) -> set[str]:
        """Rebuild live calls from ``CoreShowChannels`` and ``BridgeList`` answers.

        Calls this tracker thought live but Asterisk no longer has are ended (``hangup_by``
        ``unknown``, ``end_reason`` ``link_down``), and so are such legs of live calls; calls it
        did not know are created; known calls keep what events taught. Calls and legs that
        appeared after the lists were asked for (``asked_at``) are not in them and are left
        alone. Returns the keys of the calls that changed.
        """
        fresh = CallTracker(self.config)
        items = sorted(channels, key=lambda e: _uid_order(e.get("Uniqueid")))
        for item in items:
            fresh._seed_channel(item, now)
        for item in items:
            fresh._seed_bridge(item)
        del bridges  # bridge membership is carried by each channel's BridgeId
        changed: set[str] = set()
        live_uids = {item.get("Uniqueid") for item in items}
        since = now if asked_at is None else asked_at
        for call in list(self.calls.values()):
            if not call.live:
                continue
            caller = call.caller
            if caller is not None and caller.uniqueid not in live_uids and caller.created_at < since:
                for leg in call.legs.values():
                    if leg.ended_at is None:
                        leg.ended_at = now
                        self._by_name.pop(leg.channel, None)
                call.hangup_by = "unknown"
                call.end_reason = "link_down"
                self._end_call_unknown(call, now)
                changed.add(call.linkedid)
        for key, call in fresh.calls.items():
            mine = self._find_same(call)
            if mine is None:
                self.calls[key] = call
                for uid, leg in call.legs.items():
                    self._leg_call[uid] = key
                    self._by_name[leg.channel] = uid
                changed.add(key)
            else:
                # legs Asterisk no longer has ended while the link was down
                for uid, leg in mine.legs.items():
                    if leg.ended_at is None and uid not in live_uids and leg.created_at < since:
                        leg.ended_at = now
                        self._by_name.pop(leg.channel, None)
                        changed.add(mine.linkedid)
                state = call.state
                agent_uid = call.agent_uniqueid
                if state is CallState.IVR and mine.queued_at is not None:
                    # the lists cannot tell the queue's hold from the IVR (both run AGI)
                    state = CallState.QUEUED
                if mine.answered_at is not None and state is not CallState.TALKING:
                    # answered before: the agent left meanwhile (the caller may be in the
                    # survey); the call keeps its agent and stays answered
                    state, agent_uid = CallState.TALKING, agent_uid or mine.agent_uniqueid
                if mine.state != state or mine.agent_uniqueid != agent_uid:
                    mine.state, mine.agent_uniqueid = state, agent_uid
                    if call.bridged_at is not None and mine.bridged_at is None:
                        mine.bridged_at = mine.answered_at = call.bridged_at
                    changed.add(mine.linkedid)
                for uid, leg in call.legs.items():
                    if uid not in mine.legs:
                        mine.legs[uid] = leg
                        self._leg_call[uid] = mine.linkedid
                        self._by_name[leg.channel] = uid
                        changed.add(mine.linkedid)
        self._bridges = fresh._bridges
        return changed

    def _end_call_unknown(self, call: Call, now: float) -> None:
        call.ended_at = now
        call.outcome = (Outcome.ANSWERED if call.answered_at is not None
                        else Outcome.IVR_HANGUP if call.state is CallState.IVR else Outcome.FAILED)
        call.state = CallState.ENDED
        if self._on_ended is not None:
            self._on_ended(call)

    def _find_same(self, call: Call) -> Call | None:
        for uid in call.legs:
            key = self._leg_call.get(uid)
            if key is not None and key in self.calls:
                return self.calls[key]
        return None

    def _seed_channel(self, item: AmiEvent, now: float) -> None:
        f = item.frame.fields
        uid, channel, linkedid = f.get("Uniqueid", ""), f.get("Channel", ""), f.get("Linkedid", "")
        started = now - _duration_s(f.get("Duration", ""))
        app = f.get("Application", "")
        if app == "Bridge" and f.get("ApplicationData"):
            caller_channel = f["ApplicationData"].split(",", 1)[0]
            key = self._call_of_channel(caller_channel)
            offer = Offer("", channel, caller_channel, started, agent_channel=channel,
                          agent_uniqueid=uid)  # answered: set once the channel is seeded
            if key is None:
                key = linkedid
                self.calls.setdefault(key, Call(linkedid=key, arrived_at=started))
            self.calls[key].offers.append(offer)
            self._open_offers.append((channel, key, offer))
        synthetic = AmiEvent(item.frame, started)
        self._newchannel(synthetic)
        if app == "Bridge" and f.get("ApplicationData"):
            offer.result = "answered"
        leg_key = self._leg_call.get(uid)
        if leg_key is None:
            return
        call = self.calls[leg_key]
        leg = call.legs[uid]
        leg.caller_number = _clean(f.get("CallerIDNum", ""))
        leg.caller_name = _clean(f.get("CallerIDName", ""))
        if f.get("ChannelStateDesc") == "Up":
            leg.answered_at = started
        call.arrived_at = min(call.arrived_at, started)
        if leg.uniqueid == call.caller_uniqueid:
            if app == "AGI":
                call.state = CallState.IVR
            elif app == "MusicOnHold":
                call.state = CallState.QUEUED
        self._open_offers = [o for o in self._open_offers if o[0] != channel]

    def _seed_bridge(self, item: AmiEvent) -> None:
        bridge_id = item.get("BridgeId")
        uid = item.get("Uniqueid")
        key = self._leg_call.get(uid)
        if not bridge_id or key is None:
            return
        self.calls[key].legs[uid].bridge_id = bridge_id
        self._bridges.setdefault(bridge_id, set()).add(uid)
        members = self._bridges[bridge_id]
        call = self.calls[key]
        for other in list(members):
            other_key = self._leg_call.get(other)
            if other_key is not None and other_key != call.linkedid and other_key in self.calls:
                call = self._merge(other_key, call.linkedid)
        self._check_talking(call, bridge_id, call.arrived_at)


def _unanswered_offer_leg(leg: Leg) -> bool:
    return leg.side is Side.AGENT and leg.offer is not None and leg.offer.result != "answered"


def at_or_before(sent: float, ended: float | None) -> bool:
    return ended is None or (sent <= ended + 1e-6 and ended - sent <= _SERVER_HANGUP_WINDOW_S)


def _clean(value: str) -> str:
    return "" if value == "<unknown>" else value


def _duration_s(value: str) -> float:
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return 0.0
    h, m, s = (int(p) for p in parts)
    return float(h * 3600 + m * 60 + s)


def _uid_order(uniqueid: str) -> tuple[float, int]:
    head, _, tail = uniqueid.partition(".")
    try:
        return float(head), int(tail or 0)
    except ValueError:
        return float("inf"), 0
