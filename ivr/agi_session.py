"""One channel in AsyncAGI: the AGI commands sent to it, their answers, and their resend.

Asterisk facts this relies on (``shared/asterisk-lab``):

- A command that fails (missing prompt) or is cut by a hang-up answers ``result=-1`` and AGI
  ends: the dialplan goes on after ``AGI(agi:async)``, into its safety net (:class:`AgiEnded`).
- A channel pulled out of AGI by the router's Bridge gets no ``AsyncAGIExec`` for the running
  ``MusicOnHold`` and no ``AsyncAGIEnd``: the runner calls :meth:`AgiSession.leave` on
  ``BridgeEnter``, on a new ``AsyncAGIStart`` for the channel (the survey) or on ``Hangup``; the
  command waiting then stops the call's IVR as a normal end (:class:`Stop`).
- When the AMI link drops under a command, the channel stays in AsyncAGI, waiting for commands:
  the command is sent again once the link is back (``ivr.link_wait_s``, ``ivr.link_retries``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from callcenter.ami.agi import AgiResult
from callcenter.ami.errors import AmiLinkLost, AmiNotConnected
from callcenter.ami.messages import AmiEvent
from callcenter.settings import IvrSettings
from ivr import commands as cmd
from ivr.hold_ahead import HoldAhead
from ivr.model import Scalar
from ivr.sinks import AgiLink

log = structlog.get_logger("ivr.agi")


class Stop(Exception):
    """The call's IVR is over; ``reason`` is recorded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AgiEnded(Stop):
    """A command answered ``result=-1``: AGI has ended (hang-up or failure)."""


class AgiError(Exception):
    """A command answered something other than ``200`` (the AGI itself goes on)."""


def _clean(value: str) -> str:
    return "" if value in ("", "unknown", "<unknown>", "anonymous") else value


@dataclass(frozen=True, slots=True)
class CallStart:
    """An ``AsyncAGIStart``: which channel entered AGI, where, and who is calling."""

    channel: str
    linkedid: str
    uniqueid: str
    context: str
    extension: str = ""
    caller_number: str = ""
    caller_name: str = ""
    answered: bool = False

    @classmethod
    def from_event(cls, event: AmiEvent) -> CallStart:
        env = cmd.parse_env(event.get("Env"))
        return cls(channel=event.channel, linkedid=event.linkedid or event.uniqueid,
                   uniqueid=event.uniqueid, context=event.get("Context") or env.get("agi_context", ""),
                   extension=event.get("Exten") or env.get("agi_extension", ""),
                   caller_number=_clean(event.get("CallerIDNum") or env.get("agi_callerid", "")),
                   caller_name=_clean(event.get("CallerIDName") or env.get("agi_calleridname", "")),
                   answered=event.get("ChannelState") == "6")

    @classmethod
    def from_channel(cls, item: AmiEvent) -> CallStart:
        """A ``CoreShowChannel`` item of a channel found in AGI (after a reconnect or restart)."""
        return cls(channel=item.get("Channel"), linkedid=item.get("Linkedid") or item.get("Uniqueid"),
                   uniqueid=item.get("Uniqueid"), context=item.get("Context"),
                   extension=item.get("Extension") or item.get("Exten"),
                   caller_number=item.get("CallerIDNum"), caller_name=item.get("CallerIDName"),
                   answered=item.get("ChannelState") == "6")


def check(result: AgiResult) -> AgiResult:
    """``result`` when the command worked.

    Raises:
        AgiError: Asterisk answered another code than ``200``.
        AgiEnded: the command failed or the caller hung up (``result=-1``): AGI is over.
    """
    if result.code != 200:
        raise AgiError(f"AGI answered {result.code}: {result.raw[:80]}")
    if result.result is not None and result.result < 0:
        raise AgiEnded("agi_ended" if result.data != "hangup" else "caller_gone")
    return result


def consume(future: asyncio.Future[Any]) -> None:
    """Done-callback for a future nobody awaits any more: its exception is not "never retrieved"."""
    if not future.cancelled():
        future.exception()


class AgiSession:
    """One channel's IVR run: what started it, its AGI commands, and what the call's steps keep.

    Args:
        start: the ``AsyncAGIStart`` (or adopted channel).
        kind: ``inbound``, ``survey`` or ``fallback``.
        link: AGI commands (``AmiClient``).
        settings: command timeouts and the resend limits.
    """

    def __init__(self, start: CallStart, kind: str, link: AgiLink, settings: IvrSettings) -> None:
        self.start = start
        self.kind = kind
        self._link = link
        self._settings = settings
        self.left: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.sensitive = False
        self.recordings = 0
        self.last_context: Mapping[str, Scalar] | None = None
        self.ended = ""
        # set by AGIExecStart of the hold music: the command left AsyncAGI's queue and is playing
        self.hold_started = asyncio.Event()
        # called with it, in the same turn of the loop (once: the runner clears it)
        self.when_hold_starts: Callable[[], None] | None = None
        # routed and the hold, queued behind the route node's prompt (ivr.hold)
        self.hold_ahead: HoldAhead | None = None

    @property
    def call_id(self) -> str:
        return self.start.linkedid

    def leave(self, why: str) -> None:
        """The channel left AGI (bridged, hung up, a new AGI run): every command waiting stops."""
        if not self.left.done():
            self.left.set_result(why)

    async def run(self, command: str, timeout: float | None = None) -> AgiResult:
        """:meth:`send` the command and :func:`check` its answer."""
        return check(await self.send(command, timeout))

    async def send(self, command: str, timeout: float | None = None) -> AgiResult:
        """One AGI command, abandoned as soon as the channel leaves AGI (bridge, hangup).

        When the AMI link drops under it (or is down), the command is sent again once the link is
        back: Asterisk keeps the channel in AsyncAGI, waiting for commands, so the caller hears
        the prompt again instead of silence until they hang up.

        Raises:
            Stop: the channel left AGI.
            AmiError: the link stayed down, or the command timed out.
        """
        retries = self._settings.link_retries
        for attempt in range(retries + 1):
            try:
                return await self._send_once(command, timeout)
            except (AmiLinkLost, AmiNotConnected):
                if attempt == retries or not await self._link_back():
                    raise
                log.info("ivr_agi_resent", channel=self.start.channel, attempt=attempt + 1)
        raise AssertionError("unreachable")

    async def set_state(self, value: str) -> None:
        """Tell the dialplan where the IVR stands; a refused SET VARIABLE must not stop the call."""
        try:
            await self.run(cmd.set_variable(self._settings.state_variable, value))
        except AgiError as exc:
            log.warning("ivr_state_not_set", value=value, error=str(exc))

    async def _link_back(self) -> bool:
        """Wait for the AMI link to be up again (False: it did not come back, or the caller left)."""
        wait_connected = getattr(self._link, "wait_connected", None)
        if wait_connected is None:
            return False
        up = asyncio.ensure_future(wait_connected(self._settings.link_wait_s))
        done, _ = await asyncio.wait({up, self.left}, return_when=asyncio.FIRST_COMPLETED)
        if up not in done:
            up.cancel()
            up.add_done_callback(consume)
            return False
        return up.exception() is None

    async def _send_once(self, command: str, timeout: float | None) -> AgiResult:
        if self.left.done():
            raise Stop(self.left.result())
        wait = timeout if timeout is not None else self._settings.command_timeout_s
        call = asyncio.ensure_future(self._link.agi(self.start.channel, command, wait))
        waits: set[asyncio.Future[Any]] = {call, self.left}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the runner is closing: nobody will read the result
            call.cancel()
            call.add_done_callback(consume)
            raise
        if call in done:
            return call.result()
        call.cancel()
        call.add_done_callback(consume)
        raise Stop(self.left.result())
