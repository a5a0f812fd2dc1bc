"""``[cc-external]`` (``asterisk-conf/extensions.conf``): a caller an agent transferred to an
outside number is dialled out through the carrier::

    exten => _X.,1,Set(CC_EXTERNAL=${FILTER(+0123456789,${EXTEN})})
     same => n,Goto(cc-external,dial,1)
    exten => dial,1,NoOp(transferred by the agent to an outside number)
     same => n,Set(CALLERID(num)=${CC_CALLBACK_CALLERID})
     same => n,Dial(PJSIP/${CC_EXTERNAL}@carrier,${CC_EXTERNAL_RING})
     same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)
     same => n,Playback(sorry)
     same => n,Goto(cc-transfer,back,1)
     same => n(done),Hangup()

The carrier leg behaves as a callback's customer leg (:mod:`.callback_dial`: the same phones
behind the carrier, :meth:`CallbackContext.add_customer`), on the caller's channel instead of
the agent's; a dial nobody answers plays "sorry" and takes the caller back to AGI in
``[cc-transfer]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from callcenter.simulator.callback_dial import ANYONE, CallbackDial
from callcenter.simulator.model import UP

if TYPE_CHECKING:
    from callcenter.simulator.model import Channel
    from callcenter.simulator.ports import Pbx
    from callcenter.simulator.scenario import Behaviour

CONTEXT = "cc-external"
DIAL, DONE = "dial", 7
_SORRY_S = 1.2  # sorry.wav


def has(exten: str) -> bool:
    digits = exten.removeprefix("+")
    return exten == DIAL or (digits.isdigit() and len(digits) >= 2)


class ExternalDial(CallbackDial):
    """``Dial()`` on the caller's channel; unanswered: sorry, then back to routing."""

    def _failed(self, status: str, cause: int) -> None:
        self._cancel_timers()
        leg, caller = self.leg, self.agent
        if leg is None or not leg.alive or leg.state == UP:
            return
        self._dial_end(status)
        self.pbx.hangups.finish(leg, cause)
        if not caller.alive:
            return
        caller.activity = None
        self.pbx.newexten(caller, "GotoIf", f'0?{DONE}', 4)
        self.pbx.newexten(caller, "Playback", "sorry", 5)
        self._later(_SORRY_S, lambda: self._back(caller))

    def _back(self, caller: Channel) -> None:
        if caller.alive:
            self.pbx.newexten(caller, "Goto", "cc-transfer,back,1", 6)
            self.pbx.dialplan.run(caller, "cc-transfer", "back", 1)


def external_step(pbx: Pbx, ch: Channel, phones: Mapping[str, Behaviour]) -> None:
    """One step of the caller's dialplan in ``[cc-external]``; ``phones``: the behaviours of
    the numbers behind the carrier (digits without ``+``)."""
    if not ch.alive:
        return
    if ch.exten != DIAL:
        number = "".join(c for c in ch.exten if c in "+0123456789")
        pbx.newexten(ch, "Set", f"CC_EXTERNAL={number}", 1)
        pbx.set_var(ch, "CC_EXTERNAL", number)
        pbx.newexten(ch, "Goto", "cc-external,dial,1", 2)
        ch.exten, ch.priority = DIAL, 1
        external_step(pbx, ch, phones)
    elif ch.priority == 1:
        pbx.newexten(ch, "NoOp", "transferred by the agent to an outside number")
        shown = pbx.globals.get("CC_CALLBACK_CALLERID", "4001")
        pbx.newexten(ch, "Set", f"CALLERID(num)={shown}", 2)
        pbx.set_callerid(ch, shown, ch.cid_name)
        ch.priority = 3
        external_step(pbx, ch, phones)
    elif ch.priority == 3:
        number = ch.variables.get("CC_EXTERNAL", "")
        ring = pbx.globals.get("CC_EXTERNAL_RING", "30")
        pbx.newexten(ch, "Dial", f"PJSIP/{number}@carrier,{ring}")
        behaviour = phones.get(number.lstrip("+"), ANYONE)
        dial = ExternalDial(pbx, ch, number, behaviour)
        ch.activity = dial
        dial.start(float(ring) if ring.isdigit() else 30.0)
    else:  # the outside party's bridge ended: GotoIf(ANSWER) → done → Hangup()
        pbx.newexten(ch, "GotoIf", f"1?{DONE}", 4)
        pbx.hangups.hangup_app(ch, priority=DONE)
