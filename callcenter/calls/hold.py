"""Hold, as Asterisk shows it: the server's hold-music channel (``Local/…@cc-hold-music``)
runs ``ChanSpy(<caller>,qwES)`` and whispers the music to the caller. ``ChanSpyStart`` of that
spy on a call's caller starts the hold, ``ChanSpyStop`` (the server hung the music up, or the
caller left: option ``E``) ends it. A consult holds the caller too: Asterisk's attended transfer
plays music on hold to the caller left in the call's bridge (``MusicOnHoldStart`` on the caller
while an agent talks to them, ``MusicOnHoldStop`` when the consult ends); that counts as hold
time and one hold. The hold time is a projection of these events, so a replayed event log gives
the same hold time."""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.ami.messages import AmiEvent
from callcenter.calls.events import Held, Resumed
from callcenter.calls.grouping import CallIndex
from callcenter.calls.model import Call


def _hold_spy(ix: CallIndex, event: AmiEvent) -> Call | None:
    spyer = event.get("SpyerChannel")
    if not any(f"@{context}-" in spyer for context in ix.config.helper_contexts):
        return None
    key = ix.leg_call.get(event.get("SpyeeUniqueid"))
    if key is None:
        return None
    call = ix.calls[key]
    return call if call.caller_uniqueid == event.get("SpyeeUniqueid") else None


def chanspy_start(ix: CallIndex, event: AmiEvent) -> str | None:
    call = _hold_spy(ix, event)
    if call is None or call.held_since is not None or not call.live:
        return None
    call.held_since = event.received_at
    call.hold_count += 1
    call.hold_channel = event.get("SpyerChannel")
    ix.emit(Held(call.linkedid, event.received_at, event.get("SpyeeChannel")))
    return call.linkedid


def chanspy_stop(ix: CallIndex, event: AmiEvent) -> str | None:
    call = _hold_spy(ix, event)
    if call is None or call.held_since is None:
        return None
    end_hold(call, event.received_at)
    ix.emit(Resumed(call.linkedid, event.received_at, event.get("SpyeeChannel"), call.hold_s))
    return call.linkedid


def end_hold(call: Call, at: float) -> None:
    """Count the running hold (the caller hung up on hold, or the music stopped)."""
    if call.held_since is not None:
        call.hold_s = round(call.hold_s + max(0.0, at - call.held_since), 3)
        call.held_since = None
        call.hold_channel = ""


def adopt_holds(ix: CallIndex, channels: Iterable[AmiEvent], now: float) -> set[str]:
    """After a rebuild from ``CoreShowChannels``: a hold-music channel still running ChanSpy on
    a caller puts that call back on hold (since the spy channel's age), so the agent can resume
    it. Returns the keys of the calls it changed."""
    changed: set[str] = set()
    for item in channels:
        f = item.frame.fields
        if f.get("Context") not in ix.config.helper_contexts or f.get("Application") != "ChanSpy":
            continue
        call = ix.call_for_channel(f.get("ApplicationData", "").split(",", 1)[0])
        if call is None or not call.live or call.held_since is not None:
            continue
        call.held_since = now - duration_s(f.get("Duration", ""))
        call.hold_count = max(call.hold_count, 1)
        call.hold_channel = f.get("Channel", "")
        changed.add(call.linkedid)
    return changed


def lost_holds(ix: CallIndex, channels: Iterable[AmiEvent], now: float,
               asked_at: float | None = None) -> set[str]:
    """After a rebuild: a call on hold whose music channel Asterisk no longer lists (it ended
    while the link was down, its ``ChanSpyStop`` unseen) is no longer on hold: the hold is
    counted up to ``now`` and ``Resumed`` says the music was lost. A hold that started after
    the lists were asked for (``asked_at``) is left alone. Returns the keys of those calls."""
    listed = {item.get("Channel") for item in channels}
    since = now if asked_at is None else asked_at
    changed: set[str] = set()
    for call in ix.calls.values():
        if not call.live or call.held_since is None or call.held_since >= since \
                or not call.hold_channel or call.hold_channel in listed:
            continue
        caller = call.caller
        end_hold(call, now)
        ix.emit(Resumed(call.linkedid, now, caller.channel if caller is not None else "",
                        call.hold_s, music_lost=True))
        changed.add(call.linkedid)
    return changed


def duration_s(text: str) -> float:
    """``HH:MM:SS`` of ``CoreShowChannel`` in seconds (0 when unreadable)."""
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return 0.0
    return float(int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2]))


def music_started(call: Call, at: float) -> None:
    """Music on hold on the caller of a talking call (a consult): a hold begins, unless one runs."""
    if call.held_since is None:
        call.held_since = at
        call.hold_count += 1


def music_stop(ix: CallIndex, event: AmiEvent) -> str | None:
    """``MusicOnHoldStop`` on a caller held by music on hold (not by the hold-music spy)."""
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    if leg.uniqueid != call.caller_uniqueid or call.held_since is None or call.hold_channel:
        return None
    end_hold(call, event.received_at)
    return call.linkedid
