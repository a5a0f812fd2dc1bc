"""Digits a channel receives from AMI ``PlayDTMF`` with ``Receive: true`` (the server pressing a
consult's features codes, or switching a supervisor's spy mode), and the digits ``Atxfer``
itself queues: one ``DTMFEnd`` each (no ``DTMFBegin``, as Asterisk 22 reports a queued frame),
``DurationMs`` the action's ``Duration`` (0 when it names none), queued digits one after the
other."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from callcenter.simulator.model import Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

DIGIT_GAP_S = 0.16  # queued digits follow each other this far apart (the captures)


class ReceivedDigits:
    """``on_digit(channel, digit)`` is told of each digit once it is reported."""

    def __init__(self, pbx: Pbx, on_digit: Callable[[Channel, str], None]) -> None:
        self.pbx = pbx
        self._on_digit = on_digit
        self._free_at: dict[str, float] = {}  # channel -> when its queued digits end

    def receive(self, ch: Channel, digit: str, duration_ms: int = 0) -> None:
        now = self.pbx.clock.now()
        at = max(now, self._free_at.get(ch.name, now))
        self._free_at = {name: t for name, t in self._free_at.items() if t > now}
        self._free_at[ch.name] = at + DIGIT_GAP_S

        def report() -> None:
            if self.report(ch, digit, duration_ms):
                self._on_digit(ch, digit)

        self.pbx.clock.call_later(at - now, report)

    def report(self, ch: Channel, digit: str, duration_ms: int = 0) -> bool:
        """``DTMFEnd`` received on ``ch`` now (False when the channel is gone)."""
        if not ch.alive:
            return False
        self.pbx.channel_event(ch, "DTMFEnd", ("Digit", digit), ("DurationMs", str(duration_ms)),
                               ("Direction", "Received"))
        return True
