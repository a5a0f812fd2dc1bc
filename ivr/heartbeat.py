"""Tells the dialplan the IVR server is alive: a global ``CC_IVR_HEARTBEAT`` (epoch seconds).

``AGI(agi:async)`` waits for commands forever when no server sends any, so a caller arriving
while the server is down would hear silence. The ``[inbound]`` context skips the AGI when the
heartbeat is older than ``CC_HEARTBEAT_MAX`` seconds and goes straight to the safety net (a
hunt group, then voicemail). Run :func:`run_heartbeat` as a task next to the AMI link.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action

log = structlog.get_logger("ivr.heartbeat")
VARIABLE = "CC_IVR_HEARTBEAT"


def heartbeat_action(now: float, variable: str = VARIABLE) -> Action:
    """AMI ``Setvar`` without a channel: sets a global variable."""
    return Action("Setvar", (("Variable", variable), ("Value", str(int(now)))))


async def run_heartbeat(send: Callable[[Action], Awaitable[object]], interval_s: float = 10.0,
                        clock: Callable[[], float] = time.time, variable: str = VARIABLE) -> None:
    """Send the heartbeat every ``interval_s`` seconds until cancelled (link errors are retried)."""
    failing = False
    while True:
        try:
            await send(heartbeat_action(clock(), variable))
        except AmiError as exc:
            if not failing:
                log.warning("ivr_heartbeat_failed", error=f"{type(exc).__name__}: {exc}")
            failing = True
        else:
            if failing:
                log.info("ivr_heartbeat_recovered")
            failing = False
        await asyncio.sleep(interval_s)
