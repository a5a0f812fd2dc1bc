"""The AMI side of a live stream: ask Asterisk for one leg's audio, and stop it.

``Originate`` of ``AudioSocket/host:port/<uuid>`` running ``ChanSpy(<leg's channel>,qoES)``:
``q`` no beep, ``o`` only the audio the spied leg *reads* (what that party says: the other
party's voice, hold music and prompts played to it are not in it), ``E`` exit when the leg hangs
up, ``S`` stop when it is gone. Asterisk 22 ignores a uniqueid there, so the full channel name is
given (names are unique while the channel lives). The spy channel is named
``AudioSocket/host:port-<uuid>``, which is what ``Hangup`` is given to stop it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse, Originate, hangup
from callcenter.live.streams import Expected

log = structlog.get_logger("callcenter.live")

SPY_PREFIX = "AudioSocket/"


def spy_channel(address: str, stream_id: str) -> str:
    return f"{SPY_PREFIX}{address}-{stream_id}"


class SpyLauncher:
    """Sends the spies' Originate and Hangup; ``address`` gives ``host:port`` of the receiver."""

    def __init__(self, send: Callable[[Action], Awaitable[AmiResponse]],
                 address: Callable[[], str]) -> None:
        self._send = send
        self._address = address
        self.started = 0
        self.failed = 0

    async def start(self, stream: Expected) -> bool:
        address = self._address()
        stream.spy_channel = spy_channel(address, stream.stream_id)
        originate = Originate(f"{SPY_PREFIX}{address}/{stream.stream_id}", application="ChanSpy",
                              data=f"{stream.channel},qoES", timeout_ms=5000,
                              variables={"CC_LIVE": f"{stream.call_id}:{stream.speaker}"})
        try:
            response = await self._send(originate.action())
        except AmiError as exc:
            self.failed += 1
            log.warning("live_spy_not_started", call_id=stream.call_id, speaker=stream.speaker,
                        error=str(exc))
            return False
        self.started += response.ok
        return response.ok

    async def stop(self, stream: Expected) -> None:
        if not stream.spy_channel:
            return
        try:
            await self._send(hangup(stream.spy_channel))
        except AmiError as exc:  # already gone (the leg hung up first): nothing to stop
            log.debug("live_spy_hangup", call_id=stream.call_id, error=str(exc))
