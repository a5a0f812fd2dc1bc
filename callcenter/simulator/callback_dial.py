"""``[cc-callback]`` (``asterisk-conf/extensions.conf``): the server rings the agent first, then
the dialplan dials the customer through the carrier::

    exten => s,1,NoOp(callback for ${CC_CALLBACK} to ${CC_CALLBACK_NUMBER})
     same => n,Set(CALLERID(num)=${CC_CALLBACK_CALLERID})
     same => n,Dial(PJSIP/${CC_CALLBACK_NUMBER}@carrier,${CC_CALLBACK_RING})
     same => n,Hangup()

As Asterisk 22 reported it on the real PBX (``tests/data/pbx-captures/callback_kept_place.jsonl``):
the carrier leg ``PJSIP/carrier-…`` is created in ``[inbound]`` (exten ``s``) on the agent's
Linkedid; ``DialBegin`` names the agent's channel and the carrier leg; ``DialEnd`` on the
agent's channel gives ``DialStatus`` (ANSWER, BUSY, NOANSWER, CHANUNAVAIL, CANCEL); an answered
customer meets the agent in a basic bridge (the carrier leg enters first). When either hangs
up the carrier leg goes and the agent's dialplan ends with ``Hangup()``.

The customers behind the carrier are the simulator's: a number given a behaviour
(:meth:`CallbackContext.add_customer`: answer after, busy, never answers, hang up after) does
that; any other number answers after a few seconds and hangs up after a short talk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.clock import Timer
from callcenter.simulator.model import DOWN, UP, Channel
from callcenter.simulator.scenario import Behaviour

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

CONTEXT = "cc-callback"
ANYONE = Behaviour(answer_after_s=3.0, hangup_after_s=30.0)
_BUSY, _NO_ANSWER, _ANSWERED = 17, 19, 16


class CallbackContext:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.customers: dict[str, Behaviour] = {}

    def add_customer(self, number: str, behaviour: Behaviour) -> None:
        """How the phone of ``number`` (digits, as dialled) answers a callback."""
        self.customers[number.lstrip("+")] = behaviour

    def step(self, ch: Channel) -> None:
        if not ch.alive:
            return
        number = "".join(c for c in ch.variables.get("CC_CALLBACK_NUMBER", "") if c in "+0123456789")
        if ch.priority == 1:
            self.pbx.newexten(ch, "NoOp", f"callback for {ch.variables.get('CC_CALLBACK', '')}"
                                          f" to {ch.variables.get('CC_CALLBACK_NUMBER', '')}")
            ch.priority = 2
            self.step(ch)
        elif ch.priority == 2:
            shown = self.pbx.globals.get("CC_CALLBACK_CALLERID", "4001")
            self.pbx.newexten(ch, "Set", f"CALLERID(num)={shown}")
            self.pbx.set_callerid(ch, shown, ch.cid_name)
            ch.priority = 3
            self.step(ch)
        elif ch.priority == 3:
            ring = ch.variables.get("CC_CALLBACK_RING", "30")
            self.pbx.newexten(ch, "Dial", f"PJSIP/{number}@carrier,{ring}")
            behaviour = self.customers.get(number.lstrip("+"), ANYONE)
            dial = CallbackDial(self.pbx, ch, number, behaviour)
            ch.activity = dial
            dial.start(float(ring) if ring.isdigit() else 30.0)
        else:
            self.pbx.hangups.hangup_app(ch, priority=4)


class CallbackDial:
    """``Dial()`` running on the agent's channel (its activity until the customer's leg ends)."""

    name = "Dial"

    def __init__(self, pbx: Pbx, agent: Channel, number: str, behaviour: Behaviour) -> None:
        self.pbx = pbx
        self.agent = agent
        self.number = number
        self.behaviour = behaviour
        self.leg: Channel | None = None
        self._timers: list[Timer] = []

    def start(self, ring_s: float) -> None:
        agent = self.agent
        leg = self.pbx.new_channel(f"PJSIP/carrier-{self.pbx.ids.channel_suffix()}", "PJSIP",
                                   "PJSIP/carrier", "inbound", "s", DOWN, linkedid=agent.linkedid)
        self.leg = leg
        self.pbx.channel_event(leg, "Newchannel")
        (cid_num, cid_name), (conn_num, conn_name) = self._leg_ids()
        self.pbx.set_callerid(leg, cid_num, cid_name)
        self.pbx.set_connected(leg, conn_num, conn_name)
        self.pbx.emit(frames.event("DialBegin", frames.snapshot(agent), frames.snapshot(leg, "Dest"),
                                   [("DialString", f"{self.number}@carrier")]))
        self.pbx.set_connected(agent, leg.cid_num, leg.cid_name)
        if self.behaviour.busy:
            self._later(0.05, lambda: self._failed("BUSY", _BUSY))
            return
        self._later(ring_s, lambda: self._failed("NOANSWER", _NO_ANSWER))
        if not self.behaviour.never_answers:
            self._later(0.05, self._ringing)
            self._later(self.behaviour.answer_after_s, self._answered)

    def _leg_ids(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """The new leg's caller ID and connected line (number, name)."""
        return (self.agent.cid_num, self.agent.cid_name), (self.number, self.agent.cid_name)

    def _later(self, seconds: float, action: object) -> None:
        assert callable(action)
        self._timers.append(self.pbx.clock.call_later(max(0.0, seconds), action))

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _dial_end(self, status: str) -> None:
        assert self.leg is not None
        self.pbx.emit(frames.event("DialEnd", frames.snapshot(self.agent),
                                   frames.snapshot(self.leg, "Dest"), [("DialStatus", status)]))

    def _ringing(self) -> None:
        leg = self.leg
        if leg is None or not leg.alive or leg.state == UP:
            return
        self.pbx.set_state(leg, 5)
        self.pbx.emit(frames.event("DialState", frames.snapshot(self.agent),
                                   frames.snapshot(leg, "Dest"), [("DialStatus", "RINGING")]))

    def _failed(self, status: str, cause: int) -> None:
        """The customer's leg ends unanswered: the Dial returns, the dialplan hangs up."""
        self._cancel_timers()
        leg = self.leg
        if leg is None or not leg.alive or leg.state == UP:
            return
        self._dial_end(status)
        self.pbx.hangups.finish(leg, cause)
        if self.agent.alive:  # Hangup() after the Dial: the channel keeps the Dial's cause
            self.agent.activity = None
            self.pbx.newexten(self.agent, "Hangup", "", 4)
            self.pbx.hangups.soft_then_finish(self.agent, cause)

    def _answered(self) -> None:
        leg = self.leg
        if leg is None or not leg.alive or not self.agent.alive:
            return
        self._cancel_timers()
        self.pbx.set_state(leg, UP)
        leg.exten = ""  # as Asterisk reports the answered outgoing leg from here on
        self._dial_end("ANSWER")
        leg.in_bridge_app = True  # the dialled leg hangs up when the bridge ends
        self.agent.activity = None
        self.agent.priority = 4  # after the bridge: Hangup()
        self.pbx.bridging.connect(leg, self.agent, None)
        if self.behaviour.hangup_after_s is not None:
            self._later(self.behaviour.hangup_after_s, self._customer_hangs_up)

    def _customer_hangs_up(self) -> None:
        if self.leg is not None and self.leg.alive:
            self.pbx.hangups.remote_hangup(self.leg)

    # --- the agent's channel goes while the customer's phone rings ----------------------------

    def interrupt(self, cause: int) -> None:
        self.yank()

    def yank(self) -> None:
        self._cancel_timers()
        leg = self.leg
        if leg is not None and leg.alive and leg.state != UP:
            self._dial_end("CANCEL")
            self.pbx.hangups.finish(leg, _ANSWERED)

    def wants_dtmf(self) -> bool:
        return False

    def queue_dtmf(self, digit: str, duration_ms: int) -> None:
        """The agent's digits while the customer's phone rings are not used."""

    def on_digit(self, digit: str) -> None:
        """Nothing listens."""
