"""``[cc-external]`` (``asterisk-conf/extensions.conf``): a caller an agent transferred to an
outside number is dialled out through the carrier::

    exten => _X.,1,Set(CC_EXTERNAL=${FILTER(+0123456789,${EXTEN})})
     same => n,Goto(cc-external,dial,1)
    exten => dial,1,NoOp(transferred by the agent to an outside number)
     same => n,Dial(PJSIP/${CC_EXTERNAL}@carrier,${CC_EXTERNAL_RING},f(${CC_CALLBACK_CALLERID}))
     same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)
     same => n,Playback(sorry)
     same => n,Goto(cc-transfer,back,1)
     same => n(done),Hangup()

The carrier leg behaves as a callback's customer leg (:mod:`.callback_dial`: the same phones
behind the carrier, :meth:`CallbackContext.add_customer`), on the caller's channel instead of
the agent's; a dial nobody answers plays "sorry" and takes the caller back to AGI in
``[cc-transfer]``. As Asterisk 22 reported it (``call_control_external_transfer.jsonl``), Dial's
``f()`` gives the carrier leg the center's number as its connected line (what its INVITE's From
says) and the dialplan's extension as its caller ID; the caller's channel keeps the caller's.
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
DIAL, DONE = "dial", 6
_SORRY_S = 1.2  # sorry.wav


def has(exten: str) -> bool:
    digits = exten.removeprefix("+")
    return exten == DIAL or (digits.isdigit() and len(digits) >= 2)


class ExternalDial(CallbackDial):
    """``Dial()`` on the caller's channel; unanswered: sorry, then back to routing."""

    def __init__(self, pbx: Pbx, caller: Channel, number: str, behaviour: Behaviour,
                 shown: str) -> None:
        super().__init__(pbx, caller, number, behaviour)
        self.shown = shown

    def _leg_ids(self) -> tuple[tuple[str, str], tuple[str, str]]:
        caller = self.agent
        return (caller.exten, caller.conn_name), (self.shown, "")

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
        self.pbx.newexten(caller, "GotoIf", f'0?{DONE}', 3)
        self.pbx.newexten(caller, "Playback", "sorry", 4)
        self._later(_SORRY_S, lambda: self._back(caller))

    def _back(self, caller: Channel) -> None:
        if caller.alive:
            self.pbx.newexten(caller, "Goto", "cc-transfer,back,1", 5)
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
        ch.priority = 2
        external_step(pbx, ch, phones)
    elif ch.priority == 2:
        number = ch.variables.get("CC_EXTERNAL", "")
        ring = pbx.globals.get("CC_EXTERNAL_RING", "30")
        shown = pbx.globals.get("CC_CALLBACK_CALLERID", "4001")
        pbx.newexten(ch, "Dial", f"PJSIP/{number}@carrier,{ring},f({shown})")
        behaviour = phones.get(number.lstrip("+"), ANYONE)
        dial = ExternalDial(pbx, ch, number, behaviour, shown)
        ch.activity = dial
        dial.start(float(ring) if ring.isdigit() else 30.0)
    else:  # the outside party's bridge ended: GotoIf(ANSWER) → done → Hangup()
        pbx.newexten(ch, "GotoIf", f"1?{DONE}", 3)
        pbx.hangups.hangup_app(ch, priority=DONE)
