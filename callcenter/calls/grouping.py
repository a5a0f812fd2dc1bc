"""Which call each channel belongs to: the tracker's indexes and the moves between calls.

Asterisk quirks this relies on (all seen in ``shared/asterisk-lab``):

- Local channels come in halves ``;1``/``;2``; the ``;2`` half of an inbound Local pair runs
  the dialplan (it is the caller's channel), the ``;1`` half of an agent pair is the one bridged.
- After a bridge the agent's ``;1`` half takes the caller's ``Linkedid``; its ``;2`` half keeps
  its own, so halves are paired by name, not by Linkedid.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.ami.messages import AmiEvent
from callcenter.calls.events import CallEvent
from callcenter.calls.model import Call, Leg, LegRole, Offer, Side


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Dialplan facts the tracker needs: which contexts carry inbound calls and the survey."""

    inbound_contexts: frozenset[str] = frozenset({"inbound"})
    survey_contexts: frozenset[str] = frozenset({"survey"})
    call_tag_variable: str = "CC_CALL"
    # channels of these contexts are the server's own helpers, not calls: the hold music's
    # spy, a consult's Local channels (the colleague's leg is placed by the dial string)
    helper_contexts: frozenset[str] = frozenset({"cc-hold-music", "cc-consult"})
    # channels that are never a call's leg: the live-speech spies (callcenter.live.spies)
    ignored_prefixes: tuple[str, ...] = ("AudioSocket/",)
    # an Originate into one of these contexts with this variable (the original call) is a callback
    callback_contexts: frozenset[str] = frozenset({"cc-callback"})
    callback_variable: str = "CC_CALLBACK"
    callback_number_variable: str = "CC_CALLBACK_NUMBER"


# the uniqueid a supervisor's phone is given by its Originate (``ChannelId``)
SPY_ID_PREFIX = "spy-"


def spy_linked(ix: CallIndex, linkedid: str) -> bool:
    """A channel born of a supervisor's phone leg (the phone a ``Local/`` dial string dials
    carries the Local channel's Linkedid): it is the supervisor's, never a call's."""
    return bool(linkedid) and (linkedid in ix.spies or linkedid.startswith(SPY_ID_PREFIX))


def local_base(channel: str) -> tuple[str, str] | None:
    """``Local/4001@inbound-00000006;2`` → (``Local/4001@inbound-00000006``, ``2``)."""
    if not channel.startswith("Local/"):
        return None
    base, sep, half = channel.rpartition(";")
    if not sep or half not in ("1", "2"):
        return None
    return base, half


def other_half(channel: str) -> str | None:
    """The name of the other half of a Local channel, None for any other channel."""
    pair = local_base(channel)
    if pair is None:
        return None
    return f"{pair[0]};{'1' if pair[1] == '2' else '2'}"


def clean(value: str) -> str:
    return "" if value == "<unknown>" else value


class CallIndex:
    """Calls keyed by the caller's Linkedid, and the indexes from channels to them.

    Handlers append what happened to :attr:`out` with :meth:`emit`; the tracker hands the list
    out after each event or action.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.calls: dict[str, Call] = {}
        self.merged: dict[str, str] = {}  # absorbed call key -> surviving call key
        self.leg_call: dict[str, str] = {}  # uniqueid -> call key
        self.by_name: dict[str, str] = {}  # live channel name -> uniqueid
        self.offers_by_action: dict[str, tuple[str, Offer]] = {}
        self.offers_by_tag: dict[str, tuple[str, Offer]] = {}
        self.open_offers: list[tuple[str, str, Offer]] = []  # (prefix, call key, offer)
        self.bridges: dict[str, set[str]] = {}
        self.server_hangups: dict[str, float] = {}
        self.spies: set[str] = set()  # uniqueids of supervisors' ChanSpy channels: no call's
        # callbacks sent whose agent channel has not appeared yet:
        # (channel prefix, offer, original call, number)
        self.pending_callbacks: list[tuple[str, Offer, str, str]] = []
        # channel prefixes of offers sent for a caller channel the tracker never saw: their
        # agent channel is no call of its own
        self.unplaced_offers: list[str] = []
        self.out: list[CallEvent] = []

    def emit(self, event: CallEvent) -> None:
        self.out.append(event)

    # --- look-ups -------------------------------------------------------------------------

    def call_of_channel(self, channel: str) -> str | None:
        uid = self.by_name.get(channel)
        return self.leg_call.get(uid) if uid else None

    def call_for_channel(self, channel: str) -> Call | None:
        key = self.call_of_channel(channel)
        return self.calls.get(key) if key else None

    def call_key_for_uniqueid(self, uniqueid: str) -> str | None:
        return self.leg_call.get(uniqueid)

    def live_calls(self) -> list[Call]:
        return [call for call in self.calls.values() if call.live]

    def partner(self, channel: str) -> str | None:
        """The uniqueid of the other half of a Local channel, if it is known."""
        name = other_half(channel)
        return self.by_name.get(name) if name is not None else None

    def leg(self, event: AmiEvent) -> tuple[Call, Leg] | None:
        """The call and leg an event is about (following the Linkedid Asterisk moved it to)."""
        fields = event.frame.fields
        uid = fields.get("Uniqueid", "")
        key = self.leg_call.get(uid)
        if key is None:
            return None
        call = self.calls[key]
        leg = call.legs[uid]
        linkedid = fields.get("Linkedid", "")
        if linkedid and linkedid != leg.linkedid:
            leg.linkedid = linkedid
            other = self.leg_call.get(linkedid)
            if other is not None and other != key:
                call = self.join(uid, other)
        return call, leg

    # --- changes --------------------------------------------------------------------------

    def new_leg(self, key: str, leg: Leg, fields: dict[str, str] | None = None) -> Leg:
        if fields is not None:
            leg.caller_number = clean(fields.get("CallerIDNum", ""))
            leg.caller_name = clean(fields.get("CallerIDName", ""))
        self.calls[key].legs[leg.uniqueid] = leg
        self.leg_call[leg.uniqueid] = key
        self.by_name[leg.channel] = leg.uniqueid
        return leg

    def merge(self, src_key: str, dst_key: str) -> Call:
        """Move every leg of ``src`` into ``dst`` (the older call, the caller's)."""
        src, dst = self.calls[src_key], self.calls[dst_key]
        if src.arrived_at < dst.arrived_at and src.caller_uniqueid and not dst.caller_uniqueid:
            src, dst, src_key, dst_key = dst, src, dst_key, src_key
        for uid, leg in src.legs.items():
            if leg.side is Side.CALLER and dst.caller_uniqueid:
                leg.side = Side.AGENT
                if leg.role is LegRole.CALLER:
                    leg.role = LegRole.AGENT
            dst.legs[uid] = leg
            self.leg_call[uid] = dst_key
        dst.offers.extend(o for o in src.offers if o not in dst.offers)
        dst.recordings.extend(r for r in src.recordings if r not in dst.recordings)
        del self.calls[src_key]
        self.merged[src_key] = dst_key
        return dst

    def move_leg(self, uid: str, dst_key: str) -> Call:
        """Move one channel (and its Local partner) into another call, leaving the rest of
        its current call alone: two customers' calls are never merged."""
        src_key = self.leg_call[uid]
        src, dst = self.calls[src_key], self.calls[dst_key]
        moving = [uid]
        partner = self.partner(src.legs[uid].channel)
        if partner is not None and partner in src.legs:
            moving.append(partner)
        for moved in moving:
            dst.legs[moved] = src.legs.pop(moved)
            self.leg_call[moved] = dst_key
        if not src.legs:
            del self.calls[src_key]
            self.merged[src_key] = dst_key
        return dst

    def join(self, uid: str, dst_key: str) -> Call:
        """Bring a channel into ``dst_key``: the whole group when it is an agent-only group, just
        the channel when its current call belongs to another caller."""
        src = self.calls[self.leg_call[uid]]
        caller = src.caller
        partner = self.partner(src.legs[uid].channel)
        if caller is not None and caller.uniqueid not in (uid, partner):
            return self.move_leg(uid, dst_key)
        return self.merge(self.leg_call[uid], dst_key)

    def merge_bridge(self, call: Call, bridge_id: str) -> Call:
        """Gather into ``call`` the calls of every member of the bridge."""
        for uid in list(self.bridges.get(bridge_id, ())):
            other_key = self.leg_call.get(uid)
            if other_key is not None and other_key != call.linkedid and other_key in self.calls:
                call = self.merge(other_key, call.linkedid)
        return call

    def forget(self, key: str) -> None:
        """Drop an ended call whose legs are all gone (after it was persisted)."""
        call = self.calls.get(key)
        if call is None or call.live or any(leg.ended_at is None for leg in call.legs.values()):
            return
        del self.calls[key]
        for uid in call.legs:
            self.leg_call.pop(uid, None)
