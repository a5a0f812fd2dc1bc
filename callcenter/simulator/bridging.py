"""Bridges: the ``Bridge()`` application (how the server connects an agent to a caller), the
``Bridge`` action, and what Asterisk reports around them.

``Bridge(<caller>,p[,F(ctx^exten^prio)])`` on the agent's leg pulls the caller out of whatever
it runs (AsyncAGI ends silently, music on hold stops) into a new bridge. The agent's channel
takes the caller's ``Linkedid``; the other half of a Local agent keeps its own. When the agent
leaves, the caller goes on in its dialplan (``F()`` sends it elsewhere, e.g. to ``[survey]``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.model import Bridge, Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

_AFTER = re.compile(r"F\(([^^)]*)\^([^^)]*)\^(\d+)\)")
CONNECTED_UPDATE_S = 0.42  # the bridge re-reports peers when connected-line updates settle


# Bridge()'s options (Asterisk 22 main/features.c): single letters, ``F`` and ``S``/``L`` take an
# optional/required ``(argument)``. All options are one argument: ``pF(survey^s^1)``.
_BRIDGE_FLAGS = frozenset("pFhHkKLSTtwWxn")


def option_warnings(options: str) -> list[str]:
    """What ``ast_app_parse_options`` warns about in a Bridge options string: every character
    that is not an option (a ``,`` between options included), as Asterisk logs it."""
    warnings: list[str] = []
    i = 0
    while i < len(options):
        c = options[i]
        if c not in _BRIDGE_FLAGS:
            warnings.append(f"Unrecognized option: '{c}'")
            i += 1
            continue
        i += 1
        if i < len(options) and options[i] == "(":
            depth = 0
            while i < len(options):
                depth += {"(": 1, ")": -1}.get(options[i], 0)
                i += 1
                if depth == 0:
                    break
    return warnings


class InBridge:
    """The activity of a channel inside a bridge (by its own ``Bridge()`` or pulled in)."""

    name = "Bridge"

    def __init__(self, pbx: Pbx, ch: Channel) -> None:
        self.pbx = pbx
        self.ch = ch

    def interrupt(self, cause: int) -> None:
        if self.ch.bridge is not None:
            self.pbx.bridging.leave(self.ch)

    def yank(self) -> None:
        if self.ch.bridge is not None:
            self.pbx.bridging.leave(self.ch)

    def wants_dtmf(self) -> bool:
        return False

    def queue_dtmf(self, digit: str, duration_ms: int) -> None:
        """Never queued: a bridged channel's digits are read at once."""

    def on_digit(self, digit: str) -> None:
        """Digits pass through the bridge; nothing here uses them."""


class Bridging:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx

    def bridge_app(self, agent: Channel, data: str) -> None:
        """Run ``Bridge(data)`` on ``agent`` (an Originate with ``Application: Bridge``)."""
        target_name, _, options = data.partition(",")
        for warning in option_warnings(options):
            self.pbx.warn("app_bridge", warning)
        agent.app, agent.app_data, agent.in_bridge_app = "Bridge", data, True
        target = self.pbx.find(target_name.strip())
        if target is None or target is agent or not target.alive:
            self.pbx.set_var(agent, "BRIDGERESULT", "NONEXISTENT")
            self.app_returned(agent)
            return
        after = _AFTER.search(options)
        self.connect(target, agent,
                     (after[1], after[2], int(after[3])) if after is not None else None)

    def bridge_action(self, first: Channel, second: Channel) -> None:
        """The AMI ``Bridge`` action: both channels leave what they run and meet."""
        self.connect(first, second, None, pull_second=True)

    def connect(self, target: Channel, joiner: Channel, after: tuple[str, str, int] | None,
                pull_second: bool = False) -> None:
        bridge = Bridge(self.pbx.ids.uuid(), self.pbx.clock.now())
        self.pbx.bridges[bridge.uniqueid] = bridge
        self.pbx.emit(frames.event("BridgeCreate", frames.bridge_fields(bridge)))
        self._pull(target, after)
        if pull_second:
            self._pull(joiner, None)
        else:
            joiner.activity = InBridge(self.pbx, joiner)
        self._enter(bridge, target)
        joiner.linkedid = target.linkedid
        self._enter(bridge, joiner)
        self._connected_line(target, joiner)
        rounds = 2 if all(m.tech == "PJSIP" for m in bridge.members) else 1
        for _ in range(rounds):
            self._peers(bridge)
        self.pbx.set_connected(joiner, target.cid_num, target.cid_name)
        self.pbx.clock.call_later(CONNECTED_UPDATE_S, lambda: self._settled(bridge, target, rounds))

    def _pull(self, ch: Channel, after: tuple[str, str, int] | None) -> None:
        activity, ch.activity = ch.activity, None
        if activity is not None:
            activity.yank()
        if not ch.in_bridge_app:
            ch.priority += 1  # the application it ran has returned
        ch.app, ch.app_data = "", ""
        if after is not None:  # as Asterisk's after-bridge goto: kept until a bridge ends
            ch.after_bridge = after
        ch.activity = InBridge(self.pbx, ch)

    def _enter(self, bridge: Bridge, ch: Channel) -> None:
        bridge.members.append(ch)
        ch.bridge = bridge
        ch.was_bridged = True
        self.pbx.audio.enter(ch.name, bridge.uniqueid, self.pbx.clock.now())
        self.pbx.emit(frames.event("BridgeEnter", frames.bridge_fields(bridge), frames.snapshot(ch)))
        if ch.party is not None:
            ch.party.on_bridged()

    def _connected_line(self, target: Channel, joiner: Channel) -> None:
        """Connected-line updates cross Local pairs; their far halves report the new caller ID
        the next time they run an application."""
        for near, other in ((target, joiner), (joiner, target)):
            far = near.partner
            if far is not None and far.alive:
                far.cid_num, far.cid_name = other.cid_num, other.cid_name
                far.conn_num, far.conn_name = near.cid_num, near.cid_name
                far.callerid_pending = True

    def _peers(self, bridge: Bridge, clear: bool = False) -> None:
        for member in bridge.members:
            others = [m for m in bridge.members if m is not member]
            self.pbx.set_var(member, "BRIDGEPEER", "" if clear or not others else others[0].name)
            if member.tech == "PJSIP":
                self.pbx.set_var(member, "BRIDGEPVTCALLID",
                                 "" if clear or not others else member.pvt_call_id)

    def _settled(self, bridge: Bridge, target: Channel, rounds: int) -> None:
        if len(bridge.members) < 2 or target.bridge is not bridge:
            return
        self._peers(bridge)
        peer = next(m for m in bridge.members if m is not target)
        self.pbx.set_connected(target, peer.cid_num, peer.cid_name)
        for _ in range(2 * (rounds - 1)):
            self._peers(bridge)

    def leave(self, ch: Channel, dissolve: bool = True) -> None:
        bridge = ch.bridge
        if bridge is None:
            return
        now = self.pbx.clock.now()
        self._peers(bridge, clear=True)
        bridge.members.remove(ch)
        ch.bridge = None
        self.pbx.audio.leave(ch.name, now)
        self.pbx.emit(frames.event("BridgeLeave", frames.bridge_fields(bridge), frames.snapshot(ch)))
        if ch.in_bridge_app:
            self.pbx.set_var(ch, "BRIDGERESULT", "SUCCESS")
        if dissolve:
            self.pbx.clock.call_later(0.0, lambda: self._dissolve(bridge))

    def _dissolve(self, bridge: Bridge) -> None:
        if len(bridge.members) >= 2 or bridge.uniqueid not in self.pbx.bridges:
            return
        remaining = list(bridge.members)
        for ch in remaining:
            bridge.members.remove(ch)
            ch.bridge = None
            self.pbx.audio.leave(ch.name, self.pbx.clock.now())
            self.pbx.emit(frames.event("BridgeLeave", frames.bridge_fields(bridge),
                                       frames.snapshot(ch)))
        del self.pbx.bridges[bridge.uniqueid]
        self.pbx.emit(frames.event("BridgeDestroy", frames.bridge_fields(bridge)))
        for ch in remaining:
            if not ch.alive:
                continue
            ch.activity = None
            if ch.in_bridge_app:
                self.pbx.set_var(ch, "BRIDGERESULT", "SUCCESS")
                self.app_returned(ch)
            else:
                self.pbx.dialplan.after_bridge(ch)

    def app_returned(self, ch: Channel) -> None:
        """An originated channel's application ended: nothing follows, the channel hangs up."""
        ch.in_bridge_app = False
        self.pbx.hangups.finish(ch, 16)
