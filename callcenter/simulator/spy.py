"""ChanSpy, as a supervisor's Originate runs it: ``Application: ChanSpy``, ``Data:
<chanprefix>,<options>``, the supervisor's channel named by ``ChannelId``.

What Asterisk 22 reports (app_chanspy publishes them on the channel topic, class ``call``):
``ChanSpyStart`` with the spyer's and the spyee's snapshots (``Spyer*``/``Spyee*``) once a
channel whose name starts with the prefix is found, ``ChanSpyStop`` when spying ends. With
``E`` the spyer leaves ChanSpy when the spyee hangs up, and the Originate'd channel, having no
dialplan to return to, hangs up (cause 16). With no matching channel ChanSpy keeps waiting
(it polls for one) until the spyer hangs up; so does this one, and it starts spying when a
matching channel appears later only if it existed at the start (no polling here). Audio is not
mixed: the simulator's recordings do not hear the supervisor.
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


@dataclass
class Spy:
    spyer: Channel
    spyee: Channel | None
    options: str


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

    def channel_gone(self, ch: Channel) -> None:
        """A channel hung up: a spyer stops spying; a spyee's spyers stop, and leave with ``E``."""
        for spy in list(self._spies):
            if spy.spyer is ch:
                self._spies.remove(spy)
                if spy.spyee is not None:
                    self._event("ChanSpyStop", spy)
            elif spy.spyee is ch:
                self._event("ChanSpyStop", spy)
                spy.spyee = None
                if "E" in spy.options:
                    self._spies.remove(spy)
                    self.pbx.clock.call_later(0.02, functools.partial(self._leave, spy.spyer))

    def _leave(self, spyer: Channel) -> None:
        if spyer.alive:
            self.pbx.hangups.soft_then_finish(spyer, NORMAL)

    def spying(self) -> list[tuple[str, str, str]]:
        """(spyer, spyee, options) of every spyer on a channel: for tests."""
        return [(s.spyer.name, s.spyee.name, s.options) for s in self._spies if s.spyee is not None]

    def _event(self, name: str, spy: Spy) -> None:
        assert spy.spyee is not None
        self.pbx.emit(frames.event(name, frames.snapshot(spy.spyer, "Spyer"),
                                   frames.snapshot(spy.spyee, "Spyee")))
