"""Originate: ringing a phone (``PJSIP/<endpoint>``) or a Local channel pair
(``Local/<exten>@<context>[/n]``) and reporting the outcome in ``OriginateResponse``.

Reasons as Asterisk 22 gives them: 4 answered, 3 no answer before ``Timeout``, 5 busy
signalled by a Local handset (``Busy()``), 1 hung up while ringing, and 0 when the channel could
not be rung at all — an unregistered PJSIP phone (no channel is created) and a PJSIP phone
answering ``486 Busy`` (the channel exists for a moment: Hangup cause 17, DialEnd ``BUSY``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.clock import Timer
from callcenter.simulator.model import DOWN, RING, Channel, Endpoint, OriginateRequest
from callcenter.simulator.party import PartyRun

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx


@dataclass
class Pending:
    request: OriginateRequest
    channel: Channel
    timer: Timer | None = None
    done: bool = False
    endpoint: Endpoint | None = None


class Dialer:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self._pending: dict[str, Pending] = {}  # dialed channel name -> originate
        self._answer_watch: dict[str, Callable[[], None]] = {}  # dialed by a dialplan's Dial()
        self._ring_watch: dict[str, Callable[[], None]] = {}

    def watch_answer(self, name: str, answered: Callable[[], None],
                     ringing: Callable[[], None] | None = None) -> None:
        """Call ``answered`` when the channel ``name`` (rung by a ``Dial()``) answers (and
        ``ringing`` when it rings)."""
        self._answer_watch[name] = answered
        if ringing is not None:
            self._ring_watch[name] = ringing

    def originate(self, req: OriginateRequest, caller: Endpoint | None = None) -> Channel | None:
        """Start an originate; returns the channel that runs the dialplan side, if any."""
        tech, _, rest = req.dial.partition("/")
        resource = rest.split("/", 1)[0]
        if tech == "PJSIP":
            return self._pjsip(req, resource)
        if tech == "Local" and "@" in resource:
            return self._local(req, resource, rest, caller)
        if tech == "AudioSocket":
            return self.pbx.audiosockets.originate(req, rest)
        self._respond(req, "Failure", None, 0)
        return None

    # --- PJSIP phones --------------------------------------------------------------------

    def _pjsip(self, req: OriginateRequest, name: str) -> Channel | None:
        endpoint = self.pbx.endpoints.find_pjsip(name)
        if endpoint is None or not endpoint.registered:
            self._respond(req, "Failure", None, 0)  # no contact: no channel at all
            return None
        ch = self.pbx.new_channel(f"PJSIP/{name}-{self.pbx.ids.channel_suffix()}", "PJSIP",
                                  f"PJSIP/{name}", endpoint.context, "s", DOWN, uniqueid=req.channel_id)
        self._announce(ch, req)
        if endpoint.behaviour.busy:
            self.pbx.channel_event(ch, "HangupRequest", ("Cause", "17"), ("TechCause", "486"))
            self._dial_begin(ch, name)
            self._dial_end(ch, "BUSY")
            self._respond(req, "Failure", None, 0)
            self.pbx.hangups.finish(ch, 17, tech_cause="486")
            return None
        self._dial_begin(ch, name)
        pending = self._track(req, ch)
        pending.endpoint = endpoint
        PartyRun(self.pbx, endpoint.behaviour, endpoint.role, ch, ch).start_ringing_side()
        return ch

    # --- Local channel pairs -------------------------------------------------------------

    def _local(self, req: OriginateRequest, resource: str, rest: str,
               caller: Endpoint | None) -> Channel | None:
        exten, _, context = resource.partition("@")
        handset = None if self.pbx.dialplan.has(context, exten) else \
            self.pbx.endpoints.find_local(context, exten)
        if handset is None and not self.pbx.dialplan.has(context, exten):
            self._respond(req, "Failure", None, 0)  # no such extension: nothing is created
            return None
        one, two = self._local_pair(req, context, exten)
        self._dial_begin(one, rest)
        self._track(req, one)
        if caller is None and not req.application:
            caller = self.pbx.endpoints.find_local(req.context, req.exten)
        if caller is not None and caller.role == "caller":
            PartyRun(self.pbx, caller.behaviour, "caller", one, two)
        if handset is not None:
            PartyRun(self.pbx, handset.behaviour, handset.role, two, one).start_ringing_side()
        else:
            self.pbx.dialplan.run(two, context, exten, 1)
        return two

    def _local_pair(self, req: OriginateRequest, context: str, exten: str) -> tuple[Channel, Channel]:
        """Both halves of ``Local/<exten>@<context>``, announced in the captures' order: the
        ``;1`` half takes the originate's variables and caller ID before the ``;2`` half does."""
        suffix = self.pbx.ids.channel_suffix()
        device = f"Local/{exten}@{context}"
        one = self.pbx.new_channel(f"{device}-{suffix};1", "Local", device, context, exten, DOWN,
                                   uniqueid=req.channel_id)
        two = self.pbx.new_channel(f"{device}-{suffix};2", "Local", device, context, exten, RING,
                                   linkedid=one.uniqueid, uniqueid=req.other_channel_id)
        one.partner, two.partner = two, one
        self.pbx.channel_event(one, "Newchannel")
        self.pbx.channel_event(two, "Newchannel")
        self.pbx.newexten(one, "AppDial2", "(Outgoing Line)")
        for key, value in req.variables:
            self.pbx.set_var(one, key, value)
        self.pbx.set_callerid(one, req.cid_num, req.cid_name)
        self.pbx.set_connected(one, req.cid_num, req.cid_name)
        for key, value in req.variables:
            self.pbx.set_var(two, key, value)
        two.conn_num, two.conn_name = req.cid_num, req.cid_name
        one.language = two.language = req.language
        self.pbx.set_callerid(two, req.cid_num, req.cid_name)
        self.pbx.set_connected(two, req.cid_num, req.cid_name)
        self.pbx.emit(frames.event("LocalBridge", frames.snapshot(one, "LocalOne"),
                                   frames.snapshot(two, "LocalTwo"),
                                   [("Context", context), ("Exten", exten),
                                    ("LocalOptimization", "No")]))
        return one, two

    # --- progress ------------------------------------------------------------------------

    def _announce(self, ch: Channel, req: OriginateRequest) -> None:
        self.pbx.channel_event(ch, "Newchannel")
        self.pbx.newexten(ch, "AppDial2", "(Outgoing Line)")
        for key, value in req.variables:
            self.pbx.set_var(ch, key, value)
        self.pbx.set_callerid(ch, req.cid_num, req.cid_name)
        self.pbx.set_connected(ch, req.cid_num, req.cid_name)

    def _track(self, req: OriginateRequest, ch: Channel) -> Pending:
        pending = Pending(req, ch)
        self._pending[ch.name] = pending
        pending.timer = self.pbx.clock.call_later(req.timeout_s, lambda: self._no_answer(pending))
        return pending

    def _dial_begin(self, ch: Channel, dial_string: str) -> None:
        self.pbx.emit(frames.event("DialBegin", frames.snapshot(ch, "Dest"),
                                   [("DialString", dial_string)]))

    def _dial_end(self, ch: Channel, status: str) -> None:
        self.pbx.emit(frames.event("DialEnd", frames.snapshot(ch, "Dest"), [("DialStatus", status)]))

    def ringing(self, ch: Channel) -> None:
        watch = self._ring_watch.pop(ch.name, None)
        if watch is not None:
            watch()
        if ch.name in self._pending:
            self.pbx.emit(frames.event("DialState", frames.snapshot(ch, "Dest"),
                                       [("DialStatus", "RINGING")]))

    def answered(self, ch: Channel) -> None:
        """The dialed channel is up: report it, then run the application or dialplan."""
        self._ring_watch.pop(ch.name, None)
        watch = self._answer_watch.pop(ch.name, None)
        if watch is not None:
            watch()
            return
        pending = self._pending.pop(ch.name, None)
        if pending is None or pending.done:
            return
        pending.done = True
        if pending.timer is not None:
            pending.timer.cancel()
        req = pending.request
        self._dial_end(ch, "ANSWER")
        self._respond(req, "Success", ch, 4)
        if req.application:
            if req.application.lower() == "bridge":
                self.pbx.bridging.bridge_app(ch, req.data)
            elif req.application.lower() == "chanspy":
                self.pbx.spies.start(ch, req.data)
            else:
                ch.app, ch.app_data = req.application, req.data  # runs until hung up
        elif ch.program is not None and ch.program.local and ch.program.role == "caller":
            ch.context, ch.exten, ch.priority = req.context, req.exten, 1
            ch.program.start_answered()
        elif self.pbx.dialplan.has(req.context, req.exten):
            self.pbx.dialplan.run(ch, req.context, req.exten, req.priority)
        else:
            ch.context, ch.exten, ch.priority = req.context, req.exten, req.priority

    def busy(self, handset_half: Channel) -> None:
        """A Local handset ran ``Busy()``: the originate fails with Reason 5."""
        dialed = handset_half.partner
        if dialed is not None:
            self._fail(dialed, 17, 5)

    def _no_answer(self, pending: Pending) -> None:
        self._fail(pending.channel, 19, 3)

    def _fail(self, dialed: Channel, cause: int, reason: int) -> None:
        pending = self._pending.pop(dialed.name, None)
        if pending is None or pending.done:
            return
        pending.done = True
        if pending.timer is not None:
            pending.timer.cancel()
        if dialed.tech == "PJSIP":  # a phone that rang out: the response comes before its Hangup
            self._respond(pending.request, "Failure", None, reason)
        self.pbx.hangups.finish(dialed, cause)
        if dialed.tech != "PJSIP":  # a Local pair: after the dialed half's Hangup
            self._respond(pending.request, "Failure", None, reason)

    def channel_gone(self, ch: Channel) -> None:
        """A dialed channel hung up before it was answered (Reason 1)."""
        self._answer_watch.pop(ch.name, None)
        self._ring_watch.pop(ch.name, None)
        pending = self._pending.pop(ch.name, None)
        if pending is not None and not pending.done:
            pending.done = True
            if pending.timer is not None:
                pending.timer.cancel()
            self._respond(pending.request, "Failure", None, 1)

    def _respond(self, req: OriginateRequest, status: str, ch: Channel | None, reason: int) -> None:
        if req.action_id is None:
            return
        target = ([("Application", req.application), ("Data", req.data)] if req.application
                  else [("Context", req.context), ("Exten", req.exten)])
        pairs: frames.Pairs = [("ActionID", req.action_id), ("Response", status),
                               ("Channel", ch.name if ch is not None else req.dial), *target,
                               ("Reason", str(reason)),
                               ("Uniqueid", ch.uniqueid if ch is not None else "<unknown>"),
                               ("CallerIDNum", frames.shown(req.cid_num)),
                               ("CallerIDName", frames.shown(req.cid_name))]
        self.pbx.emit(frames.event("OriginateResponse", pairs))
