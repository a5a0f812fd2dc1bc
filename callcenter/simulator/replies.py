"""What an AMI action handler gives back (shared by :mod:`.actions` and :mod:`.actions_media`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.ami.parser import Frame

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

TRUE = ("true", "yes", "1", "on", "y", "t")


@dataclass
class SessionState:
    authenticated: bool = False
    events: bool = True
    username: str = ""


@dataclass
class Reply:
    """Frames to write first; then the PBX work (its events follow the response); then close?"""

    frames: list[frames.Pairs]
    then: Callable[[], None] | None = None
    close: bool = False


Handler = Callable[["Pbx", SessionState, Frame, "str | None"], Reply]


def ok(aid: str | None, message: str | None = None, then: Callable[[], None] | None = None) -> Reply:
    pairs = [("Message", message)] if message is not None else []
    return Reply([frames.response(aid, "Success", *pairs)], then)


def err(aid: str | None, message: str, close: bool = False) -> Reply:
    return Reply([frames.error(aid, message)], close=close)
