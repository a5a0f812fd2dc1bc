"""Rebuilding the live calls from Asterisk's lists after the AMI link (or the server) was down.

``CoreShowChannels`` gives every channel with its ``Linkedid``, application and ``BridgeId``;
they are replayed into a fresh index as if each had just appeared, then merged with what the
tracker knew: calls and legs Asterisk no longer has ended while the link was down; calls it did
not know are adopted; known calls keep what events taught.
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.ami.messages import AmiEvent
from callcenter.calls.callbacks import listed_agent_leg
from callcenter.calls.channel_events import check_talking, newchannel
from callcenter.calls.events import AgentHungUp, Bridged, CallArrived, CallbackStarted
from callcenter.calls.grouping import SPY_ID_PREFIX, CallIndex, clean, spy_linked
from callcenter.calls.hangup import end_call_unseen
from callcenter.calls.model import Call, CallState, Direction, Offer, OfferResult


def rebuild(ix: CallIndex, channels: Iterable[AmiEvent], now: float,
            asked_at: float | None = None) -> set[str]:
    """Merge Asterisk's channel list into ``ix``; returns the keys of the calls that changed.

    Calls and legs that appeared after the lists were asked for (``asked_at``) are not in them
    and are left alone.
    """
    fresh = CallIndex(ix.config)
    items = sorted((e for e in channels if not _spy(ix, e)), key=lambda e: _uid_order(e.get("Uniqueid")))
    for item in items:
        _seed_channel(fresh, item, now)
    for item in items:
        _seed_bridge(fresh, item)
    live_uids = {item.get("Uniqueid") for item in items}
    since = now if asked_at is None else asked_at
    changed = _end_gone(ix, live_uids, since, now)
    for key, call in fresh.calls.items():
        mine = _find_same(ix, call)
        if mine is None:
            _adopt(ix, key, call, now)
            changed.add(key)
        elif _update(ix, mine, call, _gone_legs(ix, mine, live_uids, since, now), now):
            changed.add(mine.linkedid)
    ix.bridges = fresh.bridges
    return changed


def _spy(ix: CallIndex, item: AmiEvent) -> bool:
    """A supervisor's ChanSpy leg is no call: one the tracker saw ordered, one still in ChanSpy,
    one named by the supervision service's ``ChannelId`` (``spy-…``, a previous run's too), or
    the phone such a leg dialled (a ``Local/`` dial string: it carries the leg's Linkedid)."""
    uid = item.get("Uniqueid")
    return uid in ix.spies or uid.startswith(SPY_ID_PREFIX) or item.get("Application") == "ChanSpy" \
        or spy_linked(ix, item.get("Linkedid"))


def _end_gone(ix: CallIndex, live_uids: set[str], since: float, now: float) -> set[str]:
    """Calls whose caller Asterisk no longer has ended while the link was down."""
    changed: set[str] = set()
    for call in list(ix.calls.values()):
        caller = call.caller
        if call.live and caller is not None and caller.uniqueid not in live_uids \
                and caller.created_at < since:
            end_call_unseen(ix, call, now)
            changed.add(call.linkedid)
    return changed


def _adopt(ix: CallIndex, key: str, call: Call, now: float) -> None:
    ix.calls[key] = call
    for uid, leg in call.legs.items():
        ix.leg_call[uid] = key
        ix.by_name[leg.channel] = uid
    caller, agent = call.caller, call.agent
    if call.direction is Direction.CALLBACK and agent is not None:
        ix.emit(CallbackStarted(key, call.arrived_at, "", agent.channel, call.callback_of,
                                caller.caller_number if caller is not None else ""))
    elif caller is not None:
        ix.emit(CallArrived(key, call.arrived_at, caller.channel, caller.caller_number, caller.caller_name))
    if call.state is CallState.TALKING and agent is not None:
        ix.emit(Bridged(key, now, agent.channel, agent.uniqueid, "", True, call.answered_at or now))


def _gone_legs(ix: CallIndex, mine: Call, live_uids: set[str], since: float, now: float) -> set[str]:
    """End the legs of a known call that Asterisk no longer has."""
    gone: set[str] = set()
    for uid, leg in mine.legs.items():
        if leg.ended_at is None and uid not in live_uids and leg.created_at < since:
            leg.ended_at = now
            ix.by_name.pop(leg.channel, None)
            gone.add(uid)
    return gone


def _update(ix: CallIndex, mine: Call, call: Call, gone: set[str], now: float) -> bool:
    """Bring a known call in line with the lists; True when it changed."""
    state, agent_uid = call.state, call.agent_uniqueid
    if state is CallState.IVR and mine.queued_at is not None:
        # the lists cannot tell the queue's hold from the IVR (both run AGI)
        state = CallState.QUEUED
    if mine.answered_at is not None and state is not CallState.TALKING:
        # answered before: the agent left meanwhile (the caller may be in the survey); the call
        # keeps its agent and stays answered
        state, agent_uid = CallState.TALKING, agent_uid or mine.agent_uniqueid
    connected = mine.state != state or mine.agent_uniqueid != agent_uid
    first = mine.bridged_at is None
    if connected:
        mine.state, mine.agent_uniqueid = state, agent_uid
        if call.bridged_at is not None and mine.bridged_at is None:
            mine.bridged_at = mine.answered_at = call.bridged_at
    added = [uid for uid in call.legs if uid not in mine.legs]
    for uid in added:
        leg = mine.legs[uid] = call.legs[uid]
        ix.leg_call[uid] = mine.linkedid
        ix.by_name[leg.channel] = uid
    agent = mine.agent
    if connected and state is CallState.TALKING and agent is not None:
        ix.emit(Bridged(mine.linkedid, now, agent.channel, agent.uniqueid, "", first,
                         mine.answered_at or now))
    if agent is not None and agent.uniqueid in gone:
        ix.emit(AgentHungUp(mine.linkedid, now, agent.channel, None))
    return bool(gone or connected or added)


def _find_same(ix: CallIndex, call: Call) -> Call | None:
    for uid in call.legs:
        key = ix.leg_call.get(uid)
        if key is not None and key in ix.calls:
            return ix.calls[key]
    return None


def _seed_channel(ix: CallIndex, item: AmiEvent, now: float) -> None:
    f = item.frame.fields
    uid, channel = f.get("Uniqueid", ""), f.get("Channel", "")
    started = now - _duration_s(f.get("Duration", ""))
    app = f.get("Application", "")
    offer = _seed_offer(ix, item, started) if app == "Bridge" and f.get("ApplicationData") else None
    newchannel(ix, AmiEvent(item.frame, started))
    if offer is not None:
        offer.result = OfferResult.ANSWERED
    leg_key = ix.leg_call.get(uid)
    if leg_key is None:
        return
    call = ix.calls[leg_key]
    leg = call.legs[uid]
    listed_agent_leg(ix, call, leg, f.get("Context", ""))
    leg.caller_number = clean(f.get("CallerIDNum", ""))
    leg.caller_name = clean(f.get("CallerIDName", ""))
    if f.get("ChannelStateDesc") == "Up":
        leg.answered_at = started
    call.arrived_at = min(call.arrived_at, started)
    if leg.uniqueid == call.caller_uniqueid:
        if app == "AGI":
            call.state = CallState.IVR
        elif app == "MusicOnHold":
            call.state = CallState.QUEUED
    ix.open_offers = [o for o in ix.open_offers if o[0] != channel]


def _seed_offer(ix: CallIndex, item: AmiEvent, started: float) -> Offer:
    """An agent channel running ``Bridge(<caller channel>)``: an offer that was answered."""
    f = item.frame.fields
    uid, channel = f.get("Uniqueid", ""), f.get("Channel", "")
    caller_channel = f["ApplicationData"].split(",", 1)[0]
    key = ix.call_of_channel(caller_channel)
    offer = Offer("", channel, caller_channel, started, agent_channel=channel, agent_uniqueid=uid)
    if key is None:
        key = f.get("Linkedid", "")
        ix.calls.setdefault(key, Call(linkedid=key, arrived_at=started))
    offer.call_id = key
    ix.calls[key].offers.append(offer)
    ix.open_offers.append((channel, key, offer))
    return offer


def _seed_bridge(ix: CallIndex, item: AmiEvent) -> None:
    bridge_id = item.get("BridgeId")
    uid = item.get("Uniqueid")
    key = ix.leg_call.get(uid)
    if not bridge_id or key is None:
        return
    ix.calls[key].legs[uid].bridge_id = bridge_id
    ix.bridges.setdefault(bridge_id, set()).add(uid)
    call = ix.merge_bridge(ix.calls[key], bridge_id)
    check_talking(ix, call, bridge_id, call.arrived_at)


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
