"""ChanSpy, as a supervisor's Originate runs it: ``Application: ChanSpy``, ``Data:
<chanprefix>,<options>``, the supervisor's channel named by ``ChannelId``.

What Asterisk 22 reports (seen in ``tests/data/pbx-captures/supervision_chanspy.jsonl``;
app_chanspy publishes the events with class ``call``): ``ChanSpyStart`` with the spyer's and
the spyee's snapshots (``Spyer*``/``Spyee*``) once a channel whose name starts with the prefix
is found; ``ChanSpyStop`` when spying ends, before the ``Hangup`` of whichever channel went.
With ``E`` the spyer leaves ChanSpy when the spyee hangs up and, with no dialplan to return
to, hangs up: ``Hangup`` cause 0, no request before it.

With ``d``, a digit received on the spyer's channel switches the live spy's mode (4 listen,
5 whisper, 6 barge): one the server plays (``PlayDTMF`` ``Receive: true``, a lone ``DTMFEnd``)
or one the supervisor presses on their phone (``DTMFBegin``, then ``DTMFEnd``, both
``Direction: Received``).

Real ChanSpy with no matching channel keeps polling for one until the spyer hangs up; this one
waits too but never finds a channel that appears later. Audio is not mixed: the simulator's
recordings do not hear the supervisor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.simulator.model import Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

NORMAL = 16
_MODE_FLAGS = {"4": "", "5": "w", "6": "B"}  # ChanSpy's ``d``: the digit's mode


@dataclass
class Spy:
    spyer: Channel
    spyee: Channel | None
    options: str
    gone: bool = False  # the spyee hung up


class Spies:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self._spies: list[Spy] = []

    def start(self, spyer: Channel, data: str) -> None:
        """The answered spyer channel runs ``ChanSpy(data)``."""
        prefix, _, options = data.partition(",")
        spyer.app, spyer.app_data = "ChanSpy", data
        spyee = next((ch for name, ch in sorted(self.pbx.channels.items())
                      if prefix and name.startswith(prefix.strip()) and ch.alive and ch is not spyer), None)
        spy = Spy(spyer, spyee, options)
        self._spies.append(spy)
        if spyee is not None:
            self._event("ChanSpyStart", spy)

    def leaving(self, ch: Channel) -> None:
        """A channel is about to hang up: spying that involves it stops (``ChanSpyStop`` comes
        before the channel's ``Hangup``, as on Asterisk)."""
        for spy in self._spies:
            if spy.spyee is not None and ch in (spy.spyer, spy.spyee):
                self._event("ChanSpyStop", spy)
                spy.gone = spy.spyee is ch
                spy.spyee = None

    def channel_gone(self, ch: Channel) -> None:
        """A channel hung up: its own spy ends; with ``E`` a spyer whose spyee went leaves
        ChanSpy and, with no dialplan to go back to, hangs up (cause 0, as Asterisk reports it)."""
        for spy in list(self._spies):
            if spy.spyer is ch:
                self._spies.remove(spy)
            elif spy.gone and "E" in spy.options:
                self._spies.remove(spy)
                self.pbx.clock.call_later(0.001, functools.partial(self._leave, spy.spyer))

    def dtmf(self, spyer: Channel, digit: str) -> None:
        """A digit received on a spyer's channel: with ``d``, 4 listens, 5 whispers, 6 barges
        (app_chanspy's mode switch: the other mode's flag is cleared)."""
        for spy in self._spies:
            if spy.spyer is spyer and "d" in spy.options and digit in _MODE_FLAGS:
                rest = "".join(c for c in spy.options if c not in "wB")
                spy.options = rest[:1] + _MODE_FLAGS[digit] + rest[1:] if rest.startswith("q") \
                    else _MODE_FLAGS[digit] + rest

    def _leave(self, spyer: Channel) -> None:
        if spyer.alive:
            self.pbx.hangups.finish(spyer, 0)

    def spying(self) -> list[tuple[str, str, str]]:
        """(spyer, spyee, options) of every spyer on a channel: for tests."""
        return [(s.spyer.name, s.spyee.name, s.options) for s in self._spies if s.spyee is not None]

    def _event(self, name: str, spy: Spy) -> None:
        assert spy.spyee is not None
        self.pbx.emit(frames.event(name, frames.snapshot(spy.spyer, "Spyer"),
                                   frames.snapshot(spy.spyee, "Spyee")))
