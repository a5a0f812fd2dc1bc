"""The list actions a reconnecting server rebuilds its state from (see the resync capture):
``CoreShowChannels``, ``Status`` and ``BridgeList``, with ``EventList`` start/Complete and the
``ActionID`` on every item."""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.model import Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

Frames = list[frames.Pairs]


def _ordered(pbx: Pbx) -> list[Channel]:
    return sorted((c for c in pbx.channels.values() if not c.hungup),
                  key=lambda c: (c.created_at, c.name), reverse=True)


def _duration(seconds: float) -> str:
    total = int(max(0.0, seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def core_show_channels(pbx: Pbx, action_id: str | None) -> Frames:
    items = [[("Event", "CoreShowChannel"), *_aid(action_id), *frames.snapshot(ch),
              ("Application", ch.app), ("ApplicationData", ch.app_data),
              ("Duration", _duration(pbx.clock.now() - ch.created_at)),
              ("BridgeId", ch.bridge.uniqueid if ch.bridge else "")]
             for ch in _ordered(pbx)]
    return _list(action_id, "Channels will follow", items, "CoreShowChannelsComplete",
                 [("ListItems", str(len(items)))])


def status(pbx: Pbx, action_id: str | None, channel: str = "") -> Frames | None:
    """None when ``channel`` was given and does not exist."""
    chans = _ordered(pbx)
    if channel:
        chans = [c for c in chans if c.name == channel]
        if not chans:
            return None
    items = []
    for ch in chans:
        fmt = "slin" if ch.is_local else "ulaw"
        pairs = [("Event", "Status"), ("Privilege", "Call"), *frames.snapshot(ch),
                 ("Type", ch.tech), ("DNID", ""), ("EffectiveConnectedLineNum", frames.shown(ch.conn_num)),
                 ("EffectiveConnectedLineName", frames.shown(ch.conn_name)), ("TimeToHangup", "0"),
                 ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
                 ("Application", ch.app or "(null)"), ("Data", ch.app_data or "(null)"),
                 ("Nativeformats", f"({fmt})"), ("Readformat", fmt), ("Readtrans", ""),
                 ("Writeformat", fmt), ("Writetrans", ""), ("Callgroup", "0"), ("Pickupgroup", "0"),
                 ("Seconds", str(int(pbx.clock.now() - ch.created_at)))]
        if action_id is not None:
            pairs.append(("ActionID", action_id))
        items.append(pairs)
    count = str(len(items))
    return _list(action_id, "Channel status will follow", items, "StatusComplete",
                 [("ListItems", count), ("Items", count)])


def bridge_list(pbx: Pbx, action_id: str | None) -> Frames:
    items = [[("Event", "BridgeListItem"), *_aid(action_id), *frames.bridge_fields(bridge)]
             for bridge in pbx.bridges.values()]
    return _list(action_id, "Bridge listing will follow", items, "BridgeListComplete",
                 [("ListItems", str(len(items)))])


def _aid(action_id: str | None) -> frames.Pairs:
    return [("ActionID", action_id)] if action_id is not None else []


def _list(action_id: str | None, message: str, items: Frames, complete: str,
          counts: frames.Pairs) -> Frames:
    start = frames.response(action_id, "Success", ("EventList", "start"), ("Message", message))
    end = [("Event", complete), *_aid(action_id), ("EventList", "Complete"), *counts]
    return [start, *items, end]
