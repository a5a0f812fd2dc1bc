"""The agent console's hold music, as Asterisk runs it (``asterisk-conf/extensions.conf``
``[cc-hold-music]``): the server originates ``Local/<n>@cc-hold-music/n`` with
``ChanSpy(<caller>,qwES)`` on the ``;1`` half (run by :mod:`callcenter.simulator.spy`, which
reports ``ChanSpyStart``/``ChanSpyStop``); the ``;2`` half answers and plays the music."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callcenter.simulator.model import Channel
    from callcenter.simulator.ports import Pbx

HOLD_CONTEXT = "cc-hold-music"
HOLD_EXTEN = re.compile(r"^[0-9].+$")  # _X.


def hold_music_step(pbx: Pbx, ch: Channel) -> None:
    """``[cc-hold-music]``: NoOp, Answer (the ``;1`` half's ChanSpy starts), Playback until hung up."""
    pbx.newexten(ch, "NoOp", f"hold music for {ch.variables.get('CC_HOLD', '')}", 1)
    pbx.newexten(ch, "Answer", "", 2)
    pbx.answer(ch)
    if ch.alive:
        pbx.newexten(ch, "Playback", pbx.globals.get("CC_HOLD_MUSIC", "hold-music"), 3)
