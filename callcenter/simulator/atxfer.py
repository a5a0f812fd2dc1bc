"""Attended (consult) transfer, as Asterisk 22 runs the AMI ``Atxfer`` into ``[cc-consult]``
(``asterisk-conf/extensions.conf``, ``features.conf``) and the features codes the server then
plays into the transferer's channel (``PlayDTMF`` with ``Receive: true``): ``*1`` cancel,
``*2`` complete, ``*3`` three-way. What it reports follows the real captures
(``tests/data/pbx-captures/call_control_consult_*.jsonl``):

- ``Atxfer``: the features code ``*8`` and the extension arrive as ``DTMFEnd`` digits on the
  transferer; after ``*8`` the transferer is on ``Hold`` and the transferee hears music
  (``MusicOnHoldStart``, alone in the call's bridge); after the last digit
  ``Local/<exten>@<context>-X;1/;2`` appear, ``;1`` and the transferer enter a new consult
  bridge, ``;2`` runs ``[cc-consult]`` and dials the phone named by ``CC_CONSULT_DIAL``
  (inherited from ``_CC_CONSULT_DIAL``); once it answers the phone and ``;2`` share a bridge.
- ``*1`` (or the colleague's side hanging up, or the phone not answering): the transferer goes
  back to the caller's bridge (``MusicOnHoldStop``, ``Unhold``), the Local pair and the
  colleague's channel hang up.
- ``*2``: ``;1`` moves into the caller's bridge (``AttendedTransfer`` ``DestType: Bridge``), the
  transferer's ``Bridge()`` ends and it hangs up; ``*3``: ``;1`` and the transferer both move in
  (``BridgeMerge``, ``DestType: Threeway``, a softmix bridge). Then the Local pair optimises
  itself away: the colleague's channel takes ``;1``'s place and both halves hang up.
- the caller hanging up mid-consult leaves the consult as it is (the server ends it); the
  transferer hanging up while the colleague talks completes the transfer, as Asterisk does,
  and while the colleague's phone rings ends the consult (the caller goes on in its dialplan);
  the caller hanging up while it rings fails the transfer (:mod:`.consult_ring`).

Not modelled: ``*2``/``*3`` while the colleague's phone rings (the server refuses them: 409
``colleague_ringing``), ``*4`` (swap).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import callcenter.simulator.consult_bridges as bridges
import callcenter.simulator.consult_ring as ring
import callcenter.simulator.frames as frames
from callcenter.simulator.bridging import InBridge
from callcenter.simulator.consult_model import Consult, ConsultLeg, HeldTransferer, inherit
from callcenter.simulator.model import DOWN, RING, UP, Channel
from callcenter.simulator.party import PartyRun
from callcenter.simulator.received_dtmf import DIGIT_GAP_S, ReceivedDigits

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

NORMAL = 16
FEATURE = "*8"  # features.conf [featuremap] atxfer
EXTEN_DIGIT_S = 0.05  # the extension's digits as the Atxfer action queues them
HOLD_AFTER_S = 0.1  # the feature is recognised this long after its last digit
OPTIMISE_AFTER_S = 0.42  # the Local pair optimises itself away after a completion
DEFAULT_RING_S = 30.0  # [cc-consult] Dial's timeout when CC_CONSULT_RING is not set
HANGUP_PRIORITY = 5  # [cc-consult] n(none),Hangup(): after Dial() or when nobody is named
ACTIONS = {"1": "cancel", "2": "complete", "3": "threeway"}  # features.conf atxferabort/...


class Consults:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self._by_agent: dict[str, Consult] = {}
        self.digits = ReceivedDigits(pbx, self._feature_digit)

    # --- the AMI side ----------------------------------------------------------------------

    def atxfer(self, agent: Channel, context: str, exten: str) -> None:
        """``Atxfer``: the features code and the extension arrive as digits on ``agent``; the
        transferer is held once the code is recognised, the consult begins after the last digit."""
        bridge = agent.bridge
        peers = [m for m in bridge.members if m is not agent] if bridge is not None else []
        feature_s = DIGIT_GAP_S * (len(FEATURE) - 1)
        times = [DIGIT_GAP_S * i for i in range(len(FEATURE))]
        times += [feature_s + HOLD_AFTER_S + EXTEN_DIGIT_S * (i + 1) for i in range(len(exten))]
        for at, digit in zip(times, FEATURE + exten, strict=True):
            self.pbx.clock.call_later(at, functools.partial(self._digit_of_atxfer, agent, digit))
        if bridge is None or len(peers) != 1 or agent.name in self._by_agent:
            return  # nothing to transfer: the digits went into the call
        consult = Consult(agent, peers[0], bridge, context, exten)
        self._by_agent[agent.name] = consult
        self.pbx.clock.call_later(feature_s + HOLD_AFTER_S, lambda: self._hold(consult))
        self.pbx.clock.call_later(times[-1], lambda: self._begin(consult))

    def _digit_of_atxfer(self, ch: Channel, digit: str) -> None:
        self.digits.report(ch, digit)

    def received_digit(self, ch: Channel, digit: str, duration_ms: int = 0) -> None:
        """A digit played into ``ch`` as received (``PlayDTMF`` ``Receive: true``, see
        :mod:`.received_dtmf`): a consulting transferer's ``*1``/``*2``/``*3`` act on its
        consult, a spy with ``d`` switches mode."""
        self.digits.receive(ch, digit, duration_ms)

    def _feature_digit(self, ch: Channel, digit: str) -> None:
        consult = self._by_agent.get(ch.name)
        if consult is None:
            self.pbx.spies.dtmf(ch, digit)  # a supervisor's spy switching mode
            if ch.activity is not None:
                ch.activity.on_digit(digit)
            return
        consult.digits = (consult.digits + digit)[-2:]
        action = ACTIONS.get(consult.digits[1:]) if consult.digits.startswith("*") else None
        if action is not None:
            consult.digits = ""
            self.pbx.clock.call_later(HOLD_AFTER_S, lambda: self._act(consult, action))

    def _act(self, consult: Consult, action: str) -> None:
        if consult.state == "done" or consult.caller_gone:
            return
        if action == "cancel":
            self._cancel(consult)
        elif consult.state == "talking":  # completing onto a ringing phone is not modelled
            self._complete(consult, threeway=action == "threeway")

    def consult_of(self, agent_channel: str) -> Consult | None:
        return self._by_agent.get(agent_channel)

    # --- starting --------------------------------------------------------------------------

    def _hold(self, c: Consult) -> None:
        if c.state == "done" or not c.agent.alive or not c.caller.alive:
            return
        self.pbx.channel_event(c.agent, "Hold")
        c.agent.activity = HeldTransferer(self.pbx, c.agent)
        self.pbx.channel_event(c.caller, "MusicOnHoldStart", ("Class", "default"))
        c.caller.activity = ConsultLeg(self.left, c, c.caller)
        if c.caller.party is not None:
            c.caller.party.on_hold(True)

    def _begin(self, c: Consult) -> None:
        if not (c.agent.alive and c.caller.alive and c.agent.bridge is c.home):
            self._cancel(c)
            return
        pbx = self.pbx
        suffix, device = pbx.ids.channel_suffix(), f"Local/{c.exten}@{c.context}"
        one = pbx.new_channel(f"{device}-{suffix};1", "Local", device, c.context, c.exten, DOWN,
                              linkedid=c.agent.linkedid)
        two = pbx.new_channel(f"{device}-{suffix};2", "Local", device, c.context, c.exten, RING,
                              linkedid=c.agent.linkedid)
        one.partner, two.partner, c.one, c.two = two, one, one, two
        pbx.channel_event(one, "Newchannel")
        pbx.channel_event(two, "Newchannel")
        c.consult_bridge = bridges.create(self.pbx)
        inherit(c.agent, two)
        pbx.set_callerid(two, c.agent.cid_num, c.agent.cid_name)
        pbx.emit(frames.event("LocalBridge", frames.snapshot(one, "LocalOne"),
                              frames.snapshot(two, "LocalTwo"),
                              [("Context", c.context), ("Exten", c.exten),
                               ("LocalOptimization", "Yes")]))
        one.activity = ConsultLeg(self.left, c, one)
        two.activity = ConsultLeg(self.left, c, two)
        pbx.set_connected(one, c.agent.cid_num, c.agent.cid_name)
        bridges.enter(self.pbx, c.consult_bridge, one)
        self._move_agent_to_consult(c)
        pbx.newexten(two, "NoOp", f"consult {c.exten} from {c.agent.name}", 1)
        dial = two.variables.get("CC_CONSULT_DIAL", "")
        pbx.newexten(two, "GotoIf", f'$["{dial}" = ""]?none', 2)
        if not dial:
            self._dial_failed(c)
            return
        pbx.newexten(two, "Set", "CALLERID(name)=Consult", 3)
        two.cid_name = "Consult"
        pbx.channel_event(two, "NewCallerid",
                          ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))
        ring_s = two.variables.get("CC_CONSULT_RING", "")
        pbx.newexten(two, "Dial", f"{dial},{ring_s or int(DEFAULT_RING_S)}", 4)
        self._dial(c, dial, float(ring_s) if ring_s.isdigit() else DEFAULT_RING_S)

    def _dial(self, c: Consult, dial: str, ring_s: float) -> None:
        pbx, two = self.pbx, c.two
        assert two is not None
        tech, _, resource = dial.partition("/")
        endpoint = pbx.endpoints.find_pjsip(resource) if tech == "PJSIP" else None
        if endpoint is None or not endpoint.registered:
            self._dial_failed(c)
            return
        target = pbx.new_channel(f"PJSIP/{resource}-{pbx.ids.channel_suffix()}", "PJSIP",
                                 f"PJSIP/{resource}", endpoint.context, "s", DOWN,
                                 linkedid=c.agent.linkedid)
        c.target = target
        pbx.channel_event(target, "Newchannel")
        target.activity = ConsultLeg(self.left, c, target)
        target.exten = c.exten
        pbx.set_callerid(target, c.exten, "")
        pbx.set_connected(target, c.agent.cid_num, c.agent.cid_name)
        pbx.emit(frames.event("DialBegin", frames.snapshot(two), frames.snapshot(target, "Dest"),
                              [("DialString", resource)]))
        if endpoint.behaviour.busy:
            pbx.channel_event(target, "HangupRequest", ("Cause", "17"), ("TechCause", "486"))
            ring.dial_end(self.pbx, c, "BUSY")
            target.activity = None
            pbx.hangups.finish(target, 17, tech_cause="486")
            self._dial_failed(c)
            return
        c.state = "ringing"
        pbx.dialer.watch_answer(target.name, lambda: self._answered(c), lambda: ring.ringing(pbx, c))
        c.timer = pbx.clock.call_later(ring_s, lambda: self._no_answer(c))
        PartyRun(pbx, endpoint.behaviour, endpoint.role, target, target).start_ringing_side()

    def _move_agent_to_consult(self, c: Consult) -> None:
        assert c.consult_bridge is not None
        self.pbx.bridging.leave(c.agent, dissolve=False)
        c.agent.activity = ConsultLeg(self.left, c, c.agent)
        bridges.enter(self.pbx, c.consult_bridge, c.agent)
        self.pbx.set_connected(c.agent, "", "")

    def _answered(self, c: Consult) -> None:
        if c.state != "ringing" or c.caller_gone or c.target is None or c.two is None or c.one is None:
            return
        if c.timer is not None:
            c.timer.cancel()
        c.state = "talking"
        pbx = self.pbx
        c.target.exten = ""  # answered, the dialed channel leaves the extension it was dialed for
        ring.dial_end(self.pbx, c, "ANSWER")
        pbx.set_state(c.two, UP)
        pbx.set_state(c.one, UP)
        pbx.set_callerid(c.one, c.exten, "")
        c.dial_bridge = bridges.create(self.pbx)
        bridges.enter(self.pbx, c.dial_bridge, c.target)
        bridges.enter(self.pbx, c.dial_bridge, c.two)
        pbx.set_connected(c.agent, c.exten, "")

    def _no_answer(self, c: Consult) -> None:
        if c.state != "ringing" or c.target is None:
            return
        ring.dial_end(self.pbx, c, "NOANSWER")
        target, c.target = c.target, None
        target.activity = None
        self.pbx.hangups.finish(target, 19)
        self._dial_failed(c)

    def _dial_failed(self, c: Consult) -> None:
        """``Dial()`` returned without an answer: ``;2`` runs ``Hangup()``, the consult ends."""
        two = c.two
        if two is not None and two.alive:
            two.activity = None
            self.pbx.hangups.hangup_app(two, HANGUP_PRIORITY)
        self._cancel(c)

    # --- ending ----------------------------------------------------------------------------

    def _cancel(self, c: Consult) -> None:
        """Back to the caller: the transferer returns, the consult's channels hang up."""
        if c.state == "done":
            return
        c.state = "done"
        if c.timer is not None:
            c.timer.cancel()
        agent = c.agent
        if agent.alive and not c.caller_gone and c.caller.alive:
            if agent.bridge is not c.home:
                self.pbx.bridging.leave(agent, dissolve=False)
                agent.activity = InBridge(self.pbx, agent)
                bridges.enter(self.pbx, c.home, agent)
            self._unhold_caller(c)
            self.pbx.channel_event(agent, "Unhold")
        elif c.caller.alive and not c.caller_gone:
            self._release_caller(c)
        elif agent.alive and agent.bridge is c.home:
            ring.transferer_alone(self.pbx, c)
        self._collapse(c)
        self._end(c)

    def _complete(self, c: Consult, threeway: bool) -> None:
        one, bridge = c.one, c.consult_bridge
        assert one is not None and bridge is not None
        c.state = "done"
        pbx = self.pbx
        if threeway:
            pbx.emit(frames.event("BridgeMerge", bridges.prefixed(c.home, "To"),
                                  bridges.prefixed(bridge, "From")))
        pbx.bridging.leave(one, dissolve=False)
        if threeway:
            self._unhold_caller(c)
        bridges.enter(self.pbx, c.home, one)
        pbx.bridging.leave(c.agent, dissolve=False)
        if threeway:
            c.agent.activity = InBridge(pbx, c.agent)
            c.home.technology = "softmix"
            bridges.enter(self.pbx, c.home, c.agent)
        else:
            self._unhold_caller(c)
        pbx.emit(frames.event(
            "AttendedTransfer", [("Result", "Success")],
            frames.snapshot(c.agent, "OrigTransferer"), bridges.prefixed(c.home, "Orig"),
            frames.snapshot(c.agent, "SecondTransferer"), bridges.prefixed(bridge, "Second"),
            frames.snapshot(c.caller, "Transferee"), frames.snapshot(one, "TransferTarget"),
            [("IsExternal", "No"), ("DestType", "Threeway" if threeway else "Bridge"),
             ("DestBridgeUniqueid", c.home.uniqueid), ("DestTransfererChannel", c.agent.name)]))
        bridges.destroy(self.pbx, bridge)
        if not threeway:
            c.agent.activity = None
            pbx.hangups.finish(c.agent, NORMAL)
        self._end(c)
        pbx.clock.call_later(OPTIMISE_AFTER_S, lambda: self._optimise(c))

    def _optimise(self, c: Consult) -> None:
        """The Local pair steps aside: the colleague's channel takes ``;1``'s place."""
        one, two, target = c.one, c.two, c.target
        if one is None or two is None or target is None or not (one.alive and two.alive and target.alive):
            self._collapse(c)
            return
        pbx = self.pbx
        pbx.emit(frames.event("LocalOptimizationBegin", frames.snapshot(one, "LocalOne"),
                              frames.snapshot(two, "LocalTwo")))
        pbx.bridging.leave(target, dissolve=False)
        home = one.bridge
        pbx.bridging.leave(one, dissolve=False)
        if home is not None:
            target.activity = InBridge(pbx, target)
            bridges.enter(self.pbx, home, target)
        pbx.emit(frames.event("LocalOptimizationEnd", frames.snapshot(one, "LocalOne"),
                              frames.snapshot(two, "LocalTwo")))
        c.target = None  # the colleague's channel is the call's now
        self._collapse(c)

    def _collapse(self, c: Consult) -> None:
        """Hang up what is left of the consult: the Local pair, then the colleague's channel."""
        one, two, target = c.one, c.two, c.target
        if one is not None and one.alive:
            one.activity = None
            self.pbx.bridging.leave(one, dissolve=False)
            self.pbx.hangups.finish(one, NORMAL)  # ;2 is asked to hang up and follows
        if two is not None and two.alive:
            two.activity = None
            self.pbx.bridging.leave(two, dissolve=False)
            self.pbx.hangups.soft_then_finish(two, NORMAL)
        if target is not None and target.alive:
            target.activity = None
            self.pbx.bridging.leave(target, dissolve=False)
            self.pbx.hangups.finish(target, NORMAL)
        for bridge in (c.dial_bridge, c.consult_bridge):
            if bridge is not None and not bridge.members:
                bridges.destroy(self.pbx, bridge)

    def left(self, c: Consult, ch: Channel) -> None:
        """A consult's channel is hanging up (or leaving what it runs)."""
        ch.activity = None
        if ch is c.caller:
            c.caller_gone = True
            self._unhold_caller(c)
            if ring.caller_left(self.pbx, c):  # ringing: the transfer fails at once
                self.pbx.clock.call_later(0.0, lambda: self._transferee_gone(c))
            return
        self.pbx.bridging.leave(ch, dissolve=False)
        if c.state == "done":
            return
        if ch is c.agent:
            if c.state == "talking" and not c.caller_gone and c.caller.alive:
                self.pbx.clock.call_later(0.0, lambda: self._complete(c, threeway=False))
            else:
                c.state = "done"
                self.pbx.clock.call_later(0.0, lambda: self._drop(c))
            return
        self.pbx.clock.call_later(0.0, lambda: self._cancel(c))  # the colleague's side went

    def _transferee_gone(self, c: Consult) -> None:
        """The caller hung up while the colleague's phone rang (:mod:`.consult_ring`)."""
        if c.state != "ringing":
            return
        if c.timer is not None:
            c.timer.cancel()
        ring.transfer_failed(self.pbx, c)
        self._collapse(c)
        self._end(c)

    def _drop(self, c: Consult) -> None:
        """The transferer went before anyone answered: the consult's legs hang up, the caller
        goes on in its dialplan as when the agent leaves a call."""
        self._collapse(c)
        if c.caller.alive and not c.caller_gone:
            self._release_caller(c)
        self._end(c)

    def _release_caller(self, c: Consult) -> None:
        caller = c.caller
        self._unhold_caller(c)
        caller.activity = None
        self.pbx.bridging.leave(caller)  # alone in its bridge: the bridge goes
        self.pbx.dialplan.after_bridge(caller)

    def _unhold_caller(self, c: Consult) -> None:
        caller = c.caller
        if isinstance(caller.activity, ConsultLeg) or caller.activity is None:
            self.pbx.channel_event(caller, "MusicOnHoldStop")
            if caller.alive:
                caller.activity = InBridge(self.pbx, caller)
                if caller.party is not None:
                    caller.party.on_hold(False)

    def _end(self, c: Consult) -> None:
        c.state = "done"
        if self._by_agent.get(c.agent.name) is c:
            del self._by_agent[c.agent.name]

