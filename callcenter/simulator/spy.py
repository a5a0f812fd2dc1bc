"""The agent console's hold music, as Asterisk runs it (``asterisk-conf/extensions.conf``
``[cc-hold-music]``): the server originates ``Local/<n>@cc-hold-music/n`` with
``ChanSpy(<caller>,qwES)`` on the ``;1`` half; the ``;2`` half answers and plays the music.
Asterisk reports ``ChanSpyStart`` (Spyer the ``;1`` half, Spyee the caller) once the spy runs,
and ``ChanSpyStop`` when the spy channel is hung up or (``E``) the spied-on channel goes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames

if TYPE_CHECKING:
    from callcenter.simulator.model import Channel
    from callcenter.simulator.ports import Pbx

HOLD_CONTEXT = "cc-hold-music"
HOLD_EXTEN = re.compile(r"^[0-9].+$")  # _X.


class Spy:
    """The activity of a channel running ``ChanSpy`` on another."""

    name = "ChanSpy"

    def __init__(self, pbx: Pbx, spyer: Channel, spyee: Channel, options: str) -> None:
        self.pbx, self.spyer, self.spyee, self.options = pbx, spyer, spyee, options
        self.stopped = False
        spyer.app, spyer.app_data = "ChanSpy", f"{spyee.name},{options}"
        pbx.emit(frames.event("ChanSpyStart", frames.snapshot(spyer, "Spyer"),
                              frames.snapshot(spyee, "Spyee")))

    def interrupt(self, cause: int) -> None:
        if not self.stopped:
            self.stopped = True
            self.pbx.emit(frames.event("ChanSpyStop", frames.snapshot(self.spyer, "Spyer"),
                                       frames.snapshot(self.spyee, "Spyee")))

    def yank(self) -> None:
        """A spy is not pulled into bridges."""

    def wants_dtmf(self) -> bool:
        return False

    def queue_dtmf(self, digit: str, duration_ms: int) -> None:
        """ChanSpy's own digits (spy on another channel) are not used here."""

    def on_digit(self, digit: str) -> None:
        """As above."""


def start_spy(pbx: Pbx, spyer: Channel, data: str) -> None:
    """``ChanSpy(<channel name prefix>,<options>)`` on the answered ``spyer``."""
    prefix, _, options = data.partition(",")
    spyee = next((c for c in pbx.channels.values() if c.alive and c is not spyer
                  and c is not spyer.partner and prefix and c.name.startswith(prefix)), None)
    if spyee is None:  # nobody to spy on: ChanSpy returns and the originated channel ends
        pbx.hangups.soft_then_finish(spyer, 16)
        return
    spyer.activity = Spy(pbx, spyer, spyee, options)


def spyee_gone(pbx: Pbx, ch: Channel) -> None:
    """``ch`` hangs up: the spies on it stop (and end, with ``E``)."""
    for spyer in list(pbx.channels.values()):
        spy = spyer.activity
        if isinstance(spy, Spy) and spy.spyee is ch and spyer.alive:
            spy.interrupt(16)
            if "E" in spy.options:
                spyer.activity = None
                pbx.hangups.soft_then_finish(spyer, 16)


def hold_music_step(pbx: Pbx, ch: Channel) -> None:
    """``[cc-hold-music]``: NoOp, Answer (the ``;1`` half's ChanSpy starts), Playback until hung up."""
    pbx.newexten(ch, "NoOp", f"hold music for {ch.variables.get('CC_HOLD', '')}", 1)
    pbx.newexten(ch, "Answer", "", 2)
    pbx.answer(ch)
    if ch.alive:
        pbx.newexten(ch, "Playback", pbx.globals.get("CC_HOLD_MUSIC", "hold-music"), 3)
