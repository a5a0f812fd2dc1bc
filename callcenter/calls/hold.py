"""Hold, as Asterisk shows it: the server's hold-music channel (``Local/…@cc-hold-music``)
runs ``ChanSpy(<caller>,qwES)`` and whispers the music to the caller. ``ChanSpyStart`` of that
spy on a call's caller starts the hold, ``ChanSpyStop`` (the server hung the music up, or the
caller left: option ``E``) ends it. The hold time is a projection of these events, so a
replayed event log gives the same hold time."""

from __future__ import annotations

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
