"""The dialplan the server relies on, as in ``asterisk-conf``/the lab's ``extensions.conf``::

    [inbound]
    exten => _X.,1,NoOp(inbound call from ${CALLERID(num)} to ${EXTEN})
     same => n,AGI(agi:async)
     same => n,Hangup()          ; the safety net: runs whenever the AGI ends
    [survey]
    exten => s,1,NoOp(post-call survey for ${CALLERID(num)})
     same => n,AGI(agi:async)
     same => n,Hangup()

and ``[cc-callback]`` (:mod:`.callback_dial`), ``[cc-external]`` (:mod:`.external_dial`).
Scripted parties' own "dialplan" (the lab's ``[sim-caller]``/``[sim-agent]``) comes from the
scenario (:mod:`.party`), not from here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from callcenter.simulator.agi import AgiSession
from callcenter.simulator.callback_dial import CONTEXT, CallbackContext
from callcenter.simulator.external_dial import CONTEXT as EXTERNAL
from callcenter.simulator.external_dial import external_step
from callcenter.simulator.external_dial import has as external_has
from callcenter.simulator.hold_music import HOLD_CONTEXT, HOLD_EXTEN, hold_music_step
from callcenter.simulator.model import Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

_PATTERNS = {"inbound": re.compile(r"^[0-9].+$"), "survey": re.compile(r"^s$"),
             CONTEXT: re.compile(r"^s$"), "cc-transfer": re.compile(r"^[a-z].+$")}
_AGI_AT = {"cc-transfer": 4}  # after Set(CC_IVR=) and the heartbeat's GotoIf
_NOOP = {"inbound": "inbound call from {num} to {exten}", "survey": "post-call survey for {num}",
         "cc-transfer": "transferred by the agent to {exten}: back to routing"}


class Dialplan:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.callbacks = CallbackContext(pbx)  # [cc-callback]: the agent first, then the customer

    @staticmethod
    def has(context: str, exten: str) -> bool:
        if context == HOLD_CONTEXT:
            return HOLD_EXTEN.match(exten) is not None
        if context == EXTERNAL:
            return external_has(exten)
        pattern = _PATTERNS.get(context)
        return pattern is not None and pattern.match(exten) is not None

    def run(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        """Start (or continue) the channel's dialplan at ``context,exten,priority``."""
        if not ch.alive:
            return
        ch.context, ch.exten, ch.priority = context, exten, priority
        ch.in_bridge_app = False
        if not self.has(context, exten):
            # Asterisk: "Channel ... sent to invalid extension": the call ends.
            self.pbx.hangups.soft_then_finish(ch, 16)
            return
        self._step(ch)

    def _step(self, ch: Channel) -> None:
        if not ch.alive:
            return
        if ch.context == CONTEXT:
            self.callbacks.step(ch)
            return
        if ch.context == HOLD_CONTEXT:
            hold_music_step(self.pbx, ch)
            return
        if ch.context == EXTERNAL:
            external_step(self.pbx, ch, self.callbacks.customers)
            return
        if ch.priority == 1:
            text = _NOOP[ch.context].format(num=ch.cid_num, exten=ch.exten)
            self.pbx.newexten(ch, "NoOp", text)
            ch.priority = _AGI_AT.get(ch.context, 2)
            self._step(ch)
        elif ch.priority == _AGI_AT.get(ch.context, 2):
            self.pbx.newexten(ch, "AGI", "agi:async")
            session = AgiSession(self.pbx, ch, on_end=self._after_agi)
            ch.activity = session
            session.start()
            if ch.party is not None and ch.context == "survey":
                ch.party.on_survey()
        else:
            self.pbx.hangups.hangup_app(ch, priority=3)

    def _after_agi(self, ch: Channel) -> None:
        ch.priority += 1
        self._step(ch)

    def redirect(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        """The AMI ``Redirect``: leave AGI or the bridge, go on at the new place."""
        if not ch.alive:
            return
        activity, ch.activity = ch.activity, None
        if isinstance(activity, AgiSession):
            activity.redirected()
        elif ch.bridge is not None:
            ch.in_bridge_app = False
            self.pbx.bridging.leave(ch)
        if ch.program is not None and ch.program is not ch.party:
            ch.program.stop()
        ch.after_bridge = None
        self.run(ch, context, exten, priority)

    def after_bridge(self, ch: Channel) -> None:
        """A channel pulled into a bridge goes on when the bridge ends (``F()`` goto or next)."""
        if ch.after_bridge is not None:
            context, exten, priority = ch.after_bridge
            ch.after_bridge = None
            self.run(ch, context, exten, priority)
        else:
            self.run(ch, ch.context, ch.exten, ch.priority)
