"""How channels end, in the order Asterisk 22 reports it (see the lab captures).

- a dialplan ``Hangup()`` (IVR safety net, a handset's script): ``Newexten Hangup``,
  ``SoftHangupRequest`` 16, the Local partner's ``HangupRequest``, ``Hangup``;
- the AMI ``Hangup`` action: whatever the channel was running ends first (AsyncAGI reports
  ``result=-1`` and ``AsyncAGIEnd``), then ``SoftHangupRequest`` with the cause, ``Hangup``;
- a phone hanging up (SIP BYE): ``HangupRequest`` without a cause, then the same;
- a Local half whose partner hung up gets ``HangupRequest`` with the cause, ends what it runs,
  then ``SoftHangupRequest`` 16 and ``Hangup`` — except a channel running ``Bridge()``, which
  just leaves the bridge (``BRIDGERESULT``) and hangs up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.model import RINGING, UP, Channel
from callcenter.simulator.spy import spyee_gone

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

NORMAL = 16


class Hangups:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx

    def hangup_app(self, ch: Channel, priority: int | None = None) -> None:
        """``Hangup()`` run by the channel's own dialplan."""
        if not ch.alive:
            return
        self.pbx.newexten(ch, "Hangup", "", priority)
        self.soft_then_finish(ch, NORMAL)

    def hangup_action(self, ch: Channel, cause: int) -> None:
        """The AMI ``Hangup`` action (or AGI ``HANGUP <other channel>``)."""
        if not ch.alive:
            return
        ch.hanging_up = True
        self._interrupt(ch, cause)
        self.soft_then_finish(ch, cause, soft_cause=cause)

    def remote_hangup(self, ch: Channel) -> None:
        """The phone behind a PJSIP channel hung up."""
        if not ch.alive:
            return
        ch.hanging_up = True
        self.pbx.channel_event(ch, "HangupRequest")
        self._react(ch, NORMAL)

    def soft_then_finish(self, ch: Channel, cause: int, soft_cause: int = NORMAL) -> None:
        """The channel hangs itself up: ``SoftHangupRequest``, then tear down."""
        ch.hanging_up = True
        self.pbx.channel_event(ch, "SoftHangupRequest", ("Cause", str(soft_cause)))
        self.finish(ch, cause)

    def finish(self, ch: Channel, cause: int, tech_cause: str = "") -> None:
        """Tear down: the Local partner is asked to hang up, ``Hangup``, then the partner goes."""
        if ch.hungup:
            return
        ch.hanging_up = True
        partner = ch.partner if ch.partner is not None and ch.partner.alive else None
        if partner is not None:
            partner.hanging_up = True
            self.pbx.channel_event(partner, "HangupRequest", ("Cause", str(cause)))
        self._release(ch)
        spyee_gone(self.pbx, ch)
        extra = [("Cause", str(cause)), ("Cause-txt", frames.cause_text(cause))]
        if tech_cause:
            extra.append(("TechCause", tech_cause))
        self.pbx.channel_event(ch, "Hangup", *extra)
        ch.hungup = True
        self.pbx.forget(ch)
        if ch.is_local or ch.state in (UP, RINGING):
            self.pbx.device_state(ch.device, "NOT_INUSE")
        self.pbx.dialer.channel_gone(ch)
        if partner is not None:
            self._react(partner, cause)

    def after_agi(self, ch: Channel) -> None:
        """AsyncAGI ended on a channel already hung up (AGI ``HANGUP``, caller gone)."""
        self.soft_then_finish(ch, NORMAL)

    def _react(self, ch: Channel, cause: int) -> None:
        was_bridge_app = ch.in_bridge_app
        self._interrupt(ch, cause)
        if ch.hungup:
            return
        if was_bridge_app:
            self.finish(ch, cause)
        else:
            self.soft_then_finish(ch, cause)

    def _interrupt(self, ch: Channel, cause: int) -> None:
        program = ch.program
        if program is not None:
            program.stop()
        activity, ch.activity = ch.activity, None
        if activity is not None:
            activity.interrupt(cause)

    def _release(self, ch: Channel) -> None:
        now = self.pbx.clock.now()
        for holder in (ch.program, ch.party):
            if holder is not None:
                holder.stop()
        activity, ch.activity = ch.activity, None
        if activity is not None:
            activity.interrupt(NORMAL)
        if ch.bridge is not None:
            self.pbx.bridging.leave(ch)
        self.pbx.audio.cut_channel(ch.name, now)
        self.pbx.audio.leave(ch.name, now)
        self.pbx.recorders.stop(ch.name, now, self.pbx.clock.call_later)
