"""Tells the dialplan the IVR server is alive: a global ``CC_IVR_HEARTBEAT`` (epoch seconds).

``AGI(agi:async)`` waits for commands forever when no server sends any, so a caller arriving
while the server is down would hear silence. The ``[inbound]`` context skips the AGI when the
heartbeat is older than ``CC_HEARTBEAT_MAX`` seconds and goes straight to the safety net (a
hunt group, then voicemail). Run :class:`Heartbeat` as a task next to the AMI link and let it
observe the link, so the first heartbeat goes out the moment the link is logged in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from callcenter.ami.errors import AmiError, AmiNotConnected
from callcenter.ami.messages import Action
from callcenter.clock import wall_time
from callcenter.runtime.periodic import Backoff, periodic

VARIABLE = "CC_IVR_HEARTBEAT"


def heartbeat_action(now: float, variable: str = VARIABLE) -> Action:
    """AMI ``Setvar`` without a channel: sets a global variable."""
    return Action("Setvar", (("Variable", variable), ("Value", str(int(now)))))


class Heartbeat:
    """Sends the heartbeat every ``interval_s`` seconds, and at once whenever the AMI link comes
    up (:meth:`on_link`), so callers arriving right after a start or a reconnect get the IVR.

    A send refused because the link is not up (yet, or again) is no failure: the beat waits for
    :meth:`on_link` (no warning at every start, before the link has logged in). Any other failed
    send is retried every ``retry_s`` (and at once on link up), never only at the next interval.
    :attr:`ready` is whether the dialplan currently sees the IVR as alive: the last send
    succeeded and the link has not gone down since (``/healthz`` reports it).
    """

    def __init__(self, send: Callable[[Action], Awaitable[object]], interval_s: float = 10.0,
                 clock: Callable[[], float] = wall_time, variable: str = VARIABLE,
                 retry_s: float = 1.0) -> None:
        self._send = send
        self._interval = interval_s
        self._retry = retry_s
        self._clock = clock
        self._variable = variable
        self._wake = asyncio.Event()
        self.ready = False
        self.sent = 0

    def on_link(self, state: str) -> None:
        """``AmiClient.observe_link``: send at once on ``up``; not ready on ``down``."""
        if state == "up":
            self._wake.set()
        else:
            self.ready = False

    def status(self) -> tuple[bool, str]:
        return self.ready, "alive" if self.ready else "not yet told to the dialplan"

    async def run(self) -> None:
        """Send until cancelled (link errors are retried every ``retry_s``, and at once on link up)."""

        async def beat() -> None:
            try:
                await self._send(heartbeat_action(self._clock(), self._variable))
            except AmiNotConnected:  # the link's own logs tell of it; sent when it comes up
                self.ready = False
                return
            except AmiError:
                self.ready = False
                raise
            self.ready = True
            self.sent += 1

        await periodic("ivr-heartbeat", self._interval, beat, wake=self._wake, first_wait=False,
                       retry_on=(AmiError,), backoff=Backoff(self._retry, wake=self._wake))


async def run_heartbeat(send: Callable[[Action], Awaitable[object]], interval_s: float = 10.0,
                        clock: Callable[[], float] = wall_time, variable: str = VARIABLE) -> None:
    """Send the heartbeat every ``interval_s`` seconds until cancelled (link errors are retried)."""
    await Heartbeat(send, interval_s, clock, variable, retry_s=interval_s).run()
