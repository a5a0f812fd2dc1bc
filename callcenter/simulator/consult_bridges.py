"""The bridges of a consult (:mod:`.atxfer`), moved about as Asterisk's attended transfer moves
them: created, entered and destroyed without :mod:`.bridging`'s dissolving (a consult decides
itself what a bridge left with one channel becomes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.model import Bridge, Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx


def create(pbx: Pbx) -> Bridge:
    bridge = Bridge(pbx.ids.uuid(), pbx.clock.now())
    pbx.bridges[bridge.uniqueid] = bridge
    pbx.emit(frames.event("BridgeCreate", frames.bridge_fields(bridge)))
    return bridge


def enter(pbx: Pbx, bridge: Bridge, ch: Channel) -> None:
    bridge.members.append(ch)
    ch.bridge = bridge
    ch.was_bridged = True
    pbx.audio.enter(ch.name, bridge.uniqueid, pbx.clock.now())
    pbx.emit(frames.event("BridgeEnter", frames.bridge_fields(bridge), frames.snapshot(ch)))
    if ch.party is not None:
        ch.party.on_bridged()


def destroy(pbx: Pbx, bridge: Bridge) -> None:
    if pbx.bridges.pop(bridge.uniqueid, None) is not None:
        pbx.emit(frames.event("BridgeDestroy", frames.bridge_fields(bridge)))


def prefixed(bridge: Bridge, prefix: str) -> frames.Pairs:
    """A bridge's fields named as in ``BridgeMerge``/``AttendedTransfer`` (``To``, ``Orig``…)."""
    return [(prefix + key if key.startswith("Bridge") else key, value)
            for key, value in frames.bridge_fields(bridge)]
