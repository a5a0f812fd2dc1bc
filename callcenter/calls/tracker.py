"""The call tracker: a pure reducer from AMI traffic to calls and what happened to them.

It does no I/O. Feed it every event Asterisk sends (:meth:`CallTracker.apply_event`) and every
action the server sends (:meth:`CallTracker.apply_action`); each returns the
:mod:`~callcenter.calls.events` they produced, in the order they happened, and the calls can be
read back (:attr:`CallTracker.calls`). The handlers live by subject: channels
(:mod:`~callcenter.calls.channel_events`), offers (:mod:`~callcenter.calls.offer_match`),
hang-ups (:mod:`~callcenter.calls.hangup`), callbacks (:mod:`~callcenter.calls.callbacks`,
:mod:`~callcenter.calls.callback_end`) and the rebuild after a reconnect
(:mod:`~callcenter.calls.rebuild`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from callcenter.ami.messages import Action, AmiEvent
from callcenter.calls import channel_events as ch
from callcenter.calls.callbacks import callback_answered, is_callback, send_callback
from callcenter.calls.consults import attended_transfer, send_consult
from callcenter.calls.events import CallEvent, CallUpdated, RecordingStarted
from callcenter.calls.grouping import CallIndex, spy_linked
from callcenter.calls.hangup import agent_hangup, hangup, hangup_request, server_hangup
from callcenter.calls.hold import adopt_holds, chanspy_start, chanspy_stop, lost_holds, music_stop
from callcenter.calls.model import Call
from callcenter.calls.offer_match import mark_queued, originate_response, send_offer
from callcenter.calls.rebuild import rebuild

# set on a Hangup the server sends for the agent (the console's hang-up button)
AGENT_PARTY_HEADER = "CC-Party"

Handler = Callable[[CallIndex, AmiEvent], str | None]

_HANDLERS: dict[str, Handler] = {
    "Newchannel": ch.newchannel,
    "Newstate": ch.newstate,
    "NewCallerid": ch.newcallerid,
    "DialBegin": ch.dialbegin,
    "DialState": ch.dialstate,
    "DialEnd": ch.dialend,
    "AsyncAGIStart": ch.agi_start,
    "AsyncAGIEnd": ch.agi_end,
    "DTMFEnd": ch.dtmf_end,
    "MusicOnHoldStart": ch.moh_start,
    "MusicOnHoldStop": music_stop,
    "BridgeEnter": ch.bridge_enter,
    "BridgeLeave": ch.bridge_leave,
    "VarSet": ch.varset,
    "MixMonitorMute": ch.mixmonitor_mute,
    "ChanSpyStart": chanspy_start,
    "ChanSpyStop": chanspy_stop,
    "BlindTransfer": ch.transfer,
    "AttendedTransfer": attended_transfer,
    "SoftHangupRequest": hangup_request,
    "HangupRequest": hangup_request,
    "Hangup": hangup,
    "OriginateResponse": originate_response,
}


class CallTracker(CallIndex):
    """Calls grouped by Linkedid, rebuilt from AMI events and the server's own actions.

    Args:
        config: inbound/survey contexts and the call-tag variable.
    """

    def apply_event(self, event: AmiEvent) -> list[CallEvent]:
        """Reduce one event; returns what it made happen (empty when it is about no call)."""
        handler = _HANDLERS.get(event.frame.fields.get("Event", ""))
        if handler is None:
            return []
        if self._spy_event(event):  # a supervisor's phone, not a call
            return []
        if "ActionID" in event.frame.fields and event.name != "OriginateResponse":
            return []  # list items answer a resync, not live traffic
        if event.name == "OriginateResponse":
            callback_answered(self, event.action_id)
        return self._collect(lambda: handler(self, event), event.received_at, event.name)

    def _spy_event(self, event: AmiEvent) -> bool:
        uid = event.uniqueid
        if event.name == "Newchannel" and uid not in self.leg_call and spy_linked(self, event.linkedid):
            self.spies.add(uid)
        if not self.spies or uid not in self.spies:
            return False
        if event.name == "Hangup":
            self.spies.discard(uid)
        return True

    def apply_action(self, action: Action, action_id: str, at: float) -> list[CallEvent]:
        """Reduce one action the server sent (offers, server hang-ups, recordings)."""
        if action.name == "Originate" and action.header("Application").lower() == "bridge":
            return self._collect(lambda: send_offer(self, action, action_id, at), at, action.name)
        if is_callback(self, action):
            send_callback(self, action, action_id, at)
            return []
        if action.name == "Originate" and action.header("Application").lower() == "chanspy":
            self.spies.update(u for u in (action.header("ChannelId"), action.header("OtherChannelId")) if u)
            return []
        if action.name == "Hangup" and action.header(AGENT_PARTY_HEADER) == "agent":
            # the agent's own hang-up from the console is theirs, not the server's
            channel = action.header("Channel")
            return self._collect(lambda: agent_hangup(self, channel), at, action.name)
        if action.name == "Hangup":
            channel = action.header("Channel")
            return self._collect(lambda: server_hangup(self, channel, at), at, action.name)
        if action.name == "Atxfer":
            return self._collect(lambda: send_consult(self, action, action_id, at), at, action.name)
        if action.name == "MixMonitor":
            return self._collect(lambda: self._recording(action, at), at, action.name)
        return []

    def apply_queued(self, call_id: str, at: float) -> list[CallEvent]:
        """Routing took the call from the IVR: it waits for an agent from ``at``."""
        call = self.calls.get(call_id)
        if call is None:
            return []
        return self._collect(lambda: _queued(self, call, at), at, "Queued")

    def rebuild(self, channels: Iterable[AmiEvent], bridges: Iterable[AmiEvent], now: float,
                asked_at: float | None = None) -> list[CallEvent]:
        """Rebuild live calls from ``CoreShowChannels`` and ``BridgeList`` answers (bridge
        membership is carried by each channel's ``BridgeId``); see :mod:`callcenter.calls.rebuild`.
        Calls it ends get ``hangup_by`` unknown and ``end_reason`` link_down."""
        del bridges
        self.out = []
        items = list(channels)
        changed = rebuild(self, items, now, asked_at) | lost_holds(self, items, now, asked_at) \
            | adopt_holds(self, items, now)
        return self._finish(changed, now, "CoreShowChannels")

    def _collect(self, reduce: Callable[[], str | None], at: float, source: str) -> list[CallEvent]:
        self.out = []
        key = reduce()
        return self._finish({key} if key is not None else set(), at, source)

    def _finish(self, changed: set[str], at: float, source: str) -> list[CallEvent]:
        """The events, named by the calls that survived merges; a call that changed with
        nothing else to say gets ``CallUpdated``."""
        out = [e if e.call_id not in self.merged else
               dataclasses.replace(e, call_id=self._surviving(e.call_id)) for e in self.out]
        told = {e.call_id for e in out}
        for key in sorted(changed):
            key = self._surviving(key)
            if key not in told:
                out.append(CallUpdated(key, at, source))
                told.add(key)
        self.out = []
        return out

    def _surviving(self, key: str) -> str:
        seen = 0
        while key in self.merged and seen < 16:
            key, seen = self.merged[key], seen + 1
        return key

    def _recording(self, action: Action, at: float) -> str | None:
        key = self.call_of_channel(action.header("Channel"))
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
                self.emit(RecordingStarted(key, at, path))
        return key


def _queued(ix: CallIndex, call: Call, at: float) -> str:
    mark_queued(ix, call, at)
    return call.linkedid


def first_call_id(events: list[CallEvent]) -> str | None:
    """The call an AMI event was about (all its events are about one call)."""
    return events[0].call_id if events else None
