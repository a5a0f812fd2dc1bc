"""AMI actions of the agent console's call control: ``MuteAudio``, ``Hangup`` of every
channel whose name matches a ``/regex/`` (the hold music's channel, named by its prefix).
``PlayDTMF`` is in :mod:`.actions_atxfer`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.ami.parser import Frame
from callcenter.simulator.replies import TRUE, Handler, Reply, SessionState, err, ok

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx


def mute_audio(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    name = frame.get("Channel").strip()
    direction, on = frame.get("Direction").strip().lower(), frame.get("State").strip().lower()
    if not name:
        return err(aid, "Channel not specified")
    if not direction:
        return err(aid, "Direction not specified")
    if not on:
        return err(aid, "State not specified")
    ch = pbx.find(name)
    if ch is None or not ch.alive:
        return err(aid, "No such channel")
    if direction not in ("in", "out", "all"):
        return err(aid, "Invalid direction specified")

    def mute() -> None:
        ways = {"in", "out"} if direction == "all" else {direction}
        ch.muted = ch.muted | ways if on in TRUE else ch.muted - ways

    return ok(aid, None, mute)


def hangup_matching(pbx: Pbx, pattern: str, cause: int, aid: str | None) -> Reply:
    """``Hangup`` with ``Channel: /regex/``: a list of the channels hung up, as Asterisk answers."""
    try:
        regex = re.compile(pattern)
    except re.error:
        return err(aid, "Regex compile failed on: " + pattern)
    matched = [ch for ch in list(pbx.channels.values()) if ch.alive and regex.search(ch.name)]
    items: list[frames.Pairs] = [[("Event", "ChannelHungup"), *_aid(aid), ("Channel", ch.name)]
                                 for ch in matched]
    start = frames.response(aid, "Success", ("EventList", "start"),
                            ("Message", "Channels hung up will follow"))
    end = [("Event", "ChannelsHungupListComplete"), *_aid(aid), ("EventList", "Complete"),
           ("ListItems", str(len(matched)))]

    def hang_up() -> None:
        for ch in matched:
            pbx.hangups.hangup_action(ch, cause)

    return Reply([start, *items, end], hang_up)


def _aid(aid: str | None) -> frames.Pairs:
    return [("ActionID", aid)] if aid is not None else []


CONTROL_HANDLERS: dict[str, Handler] = {"muteaudio": mute_audio}
