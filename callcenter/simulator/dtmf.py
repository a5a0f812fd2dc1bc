"""DTMF as a channel receives it: ``DTMFBegin``, then ``DTMFEnd`` after the tone's duration.

A supervisor in ChanSpy with ``d`` who presses 4, 5 or 6 on their phone switches the spy's
mode when the digit ends, as app_chanspy does on the DTMF end frame.

While a channel sits in AsyncAGI between commands, Asterisk does not read it: the digit waits
in the channel's queue and is reported (and used) when the next AGI command starts reading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator.model import Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx


class Dtmf:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx

    def receive(self, ch: Channel, digit: str, duration_ms: int) -> None:
        """A digit arrives on ``ch`` (sent by the party behind it)."""
        if not ch.alive:
            return
        activity = ch.activity
        if activity is not None and activity.wants_dtmf():
            activity.queue_dtmf(digit, duration_ms)
            return
        self.play(ch, digit, duration_ms)

    def play(self, ch: Channel, digit: str, duration_ms: int) -> None:
        """Report the digit now and hand it to whatever the channel runs when it ends."""
        self.pbx.channel_event(ch, "DTMFBegin", ("Digit", digit), ("Direction", "Received"))

        def end() -> None:
            if not ch.alive:
                return
            self.pbx.channel_event(ch, "DTMFEnd", ("Digit", digit), ("DurationMs", str(duration_ms)),
                                   ("Direction", "Received"))
            self.pbx.spies.dtmf(ch, digit)  # a supervisor's phone keying a spy mode (ChanSpy's d)
            if ch.activity is not None:
                ch.activity.on_digit(digit)

        self.pbx.clock.call_later(duration_ms / 1000, end)
