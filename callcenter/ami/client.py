"""The AMI link: the one place that talks to Asterisk's manager interface.

panoramisk 1.4 is the project's AMI library, but its ``Manager`` cannot be trusted against
Asterisk 22 (DESIGN.md lists the defects). :class:`~callcenter.ami.protocol.AmiProtocol` keeps
panoramisk's protocol class as its base and replaces the methods that were wrong;
:class:`AmiClient` replaces the ``Manager``:

- frames are split as bytes (:mod:`callcenter.ami.protocol`);
- responses, events and AGI results are put where they belong (:mod:`callcenter.ami.inbound`);
- ``Originate`` is always async; every action has a timeout; an action sent while the link is
  down fails at once, and actions in flight fail when it drops;
- a handler that raises is logged and never drops the link;
- pings that go unanswered mark the link dead and trigger a reconnect with capped backoff;
- a refused login is reported as :class:`AmiLoginFailed`, not retried silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import structlog

from callcenter.ami import messages
from callcenter.ami.agi import AgiResult
from callcenter.ami.errors import (
    AgiChannelGone,
    AmiActionFailed,
    AmiError,
    AmiInvalidAction,
    AmiLoginFailed,
    AmiNotConnected,
    AmiTimeout,
)
from callcenter.ami.inbound import AgiWait, EventHandler, Inbound, PendingAction
from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import BadFrame, Banner, Frame
from callcenter.ami.protocol import AmiProtocol, tls_context
from callcenter.clock import wall_time
from callcenter.metrics import Metrics, count_caught
from callcenter.settings import AmiSettings

log = structlog.get_logger("callcenter.ami")

ActionObserver = Callable[[Action, str, float], None]
LinkObserver = Callable[[str], Awaitable[None] | None]


class AmiClient:
    """A supervised AMI link with typed actions in and typed events out.

    Args:
        settings: host, port, credentials, timeouts and backoff.
        metrics: where link and event counts go (optional).
        clock: wall-clock time for events' ``received_at`` (injectable for tests).
    """

    def __init__(self, settings: AmiSettings, metrics: Metrics | None = None,
                 clock: Callable[[], float] = wall_time) -> None:
        self.settings = settings
        self._metrics = metrics
        self._clock = clock
        self._inbound = Inbound(metrics, clock)
        self._action_observers: list[ActionObserver] = []
        self._link_observers: list[LinkObserver] = []
        self._protocol: AmiProtocol | None = None
        self._pending = self._inbound.pending
        self._agi = self._inbound.agi
        self._ids = itertools.count(1)
        self._prefix = f"cc-{random.getrandbits(32):08x}"
        self._up = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False
        self.state = "down"
        self.last_error = ""
        self.version = ""
        self.reconnects = 0

    # --- subscriptions -------------------------------------------------------------------

    def subscribe(self, handler: EventHandler) -> None:
        """Call ``handler(event)`` for every event, in arrival order, on the event loop."""
        self._inbound.handlers.append(handler)

    def observe_actions(self, observer: ActionObserver) -> None:
        """Call ``observer(action, action_id, sent_at)`` for every action sent."""
        self._action_observers.append(observer)

    def observe_link(self, observer: LinkObserver) -> None:
        """Call ``observer(state)`` on ``up`` (after login) and ``down``."""
        self._link_observers.append(observer)

    @property
    def connected(self) -> bool:
        return self.state == "up"

    @property
    def events_received(self) -> int:
        return self._inbound.events_received

    @property
    def bad_frames(self) -> int:
        return self._inbound.bad_frames

    @property
    def sanitized(self) -> int:
        return self._inbound.sanitized

    def statistics(self) -> dict[str, Any]:
        inbound = self._inbound
        return {"state": self.state, "pending_actions": len(self._pending),
                "pending_agi": len(self._agi), "events_received": inbound.events_received,
                "bad_frames": inbound.bad_frames, "sanitized": inbound.sanitized,
                "reconnects": self.reconnects, "last_error": self.last_error}

    # --- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the link up until :meth:`close`; reconnect with capped exponential backoff.

        Raises:
            AmiLoginFailed: Asterisk refused the credentials.
        """
        attempt = 0
        while not self._closing:
            try:
                protocol = await self._connect()
            except AmiLoginFailed as exc:
                self.state = "login_failed"
                self.last_error = str(exc)
                log.error("ami_login_refused", host=self.settings.host, port=self.settings.port,
                          username=self.settings.username)
                raise
            except (OSError, AmiError, TimeoutError) as exc:  # ssl.SSLError is an OSError
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("ami_connect_failed", error=self.last_error, attempt=attempt)
            else:
                attempt = 0
                await self._serve(protocol)
            if self._closing:
                break
            delay = min(self.settings.reconnect_max_s, self.settings.reconnect_min_s * 2 ** attempt)
            delay *= 0.8 + 0.4 * random.random()
            attempt += 1
            self.reconnects += 1
            if self._metrics is not None:
                self._metrics.ami_reconnects.inc()
            await asyncio.sleep(delay)

    async def wait_connected(self, timeout: float) -> None:
        """Wait until the link is up and logged in.

        Raises:
            AmiLoginFailed: when login was refused; AmiTimeout when not up in time.
        """
        if self.state == "login_failed":
            raise AmiLoginFailed(self.last_error)
        try:
            async with asyncio.timeout(timeout):  # not wait_for: see _answer
                await self._up.wait()
        except TimeoutError:
            if self.state == "login_failed":
                raise AmiLoginFailed(self.last_error) from None
            raise AmiTimeout(f"AMI link not up within {timeout:g}s ({self.last_error})") from None

    async def close(self) -> None:
        """Log off politely if possible, then close; pending actions fail with AmiLinkLost."""
        self._closing = True
        protocol = self._protocol
        if protocol is not None and self.state == "up":
            with contextlib.suppress(AmiError):
                await self.send(messages.logoff(), timeout=1.0)
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
        self.state = "closed"

    async def _connect(self) -> AmiProtocol:
        self.state = "connecting"
        loop = asyncio.get_running_loop()
        tls = tls_context(self.settings)
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: AmiProtocol(self), self.settings.host, self.settings.port, ssl=tls,
                server_hostname=(self.settings.tls_server_name or self.settings.host) if tls else None),
            self.settings.connect_timeout_s)
        self._protocol = protocol
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                self.version = await asyncio.shield(protocol.banner)
            response = await self._send_on(protocol, messages.login(
                self.settings.username, self.settings.secret.reveal()), self.settings.action_timeout_s)
        except AmiActionFailed as exc:
            protocol.abort()
            raise AmiLoginFailed(
                f"AMI login refused for user {self.settings.username!r} at "
                f"{self.settings.host}:{self.settings.port}: {exc.message}") from None
        except BaseException:
            protocol.abort()
            raise
        del response
        self.state = "up"
        self.last_error = ""
        self._up.set()
        if self._metrics is not None:
            self._metrics.ami_link_up.set(1)
        log.info("ami_link_up", host=self.settings.host, port=self.settings.port, version=self.version)
        await self._notify_link("up")
        return protocol

    async def _serve(self, protocol: AmiProtocol) -> None:
        pinger = asyncio.create_task(self._ping_loop(protocol))
        try:
            await protocol.lost
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger

    async def _ping_loop(self, protocol: AmiProtocol) -> None:
        while not protocol.closed:
            await asyncio.sleep(self.settings.ping_interval_s)
            if protocol.closed:
                return
            try:
                await self._send_on(protocol, messages.ping(), self.settings.ping_timeout_s)
            except AmiTimeout:
                self.last_error = "no answer to ping: link is half-open"
                log.warning("ami_ping_unanswered", timeout_s=self.settings.ping_timeout_s)
                protocol.abort()
                return
            except AmiError:
                return

    async def _notify_link(self, state: str) -> None:
        for observer in self._link_observers:
            try:
                result = observer(state)
                if result is not None:
                    await result
            except Exception:
                count_caught(self._metrics, "ami_link_observer_failed")
                log.exception("ami_link_observer_failed", state=state)

    # --- actions -------------------------------------------------------------------------

    async def send(self, action: Action | messages.Originate, timeout: float | None = None
                   ) -> AmiResponse:
        """Send an action and wait for its response (and items, for list actions).

        Raises:
            AmiNotConnected: the link is down; nothing was sent.
            AmiLinkLost: the link dropped before the answer.
            AmiTimeout: no answer within ``timeout`` (default ``ami.action_timeout_s``).
            AmiActionFailed: Asterisk answered ``Response: Error``.
        """
        return await self.post(action, timeout)

    def post(self, action: Action | messages.Originate, timeout: float | None = None
             ) -> Awaitable[AmiResponse]:
        """Write the action now, in the caller's turn of the loop (a coroutine from :meth:`send`
        writes only when it first runs); awaiting what it returns waits for the answer as
        :meth:`send` does. Not awaiting it leaves nothing behind once Asterisk answers or the
        link drops.

        Raises:
            AmiNotConnected: the link is down; nothing was sent.
            AmiInvalidAction: the action cannot be written; nothing was sent.
        """
        if isinstance(action, messages.Originate):
            action = action.action()
        protocol = self._protocol
        if protocol is None or self.state != "up" or protocol.closed:
            raise AmiNotConnected(f"AMI link is {self.state}: {action.name} not sent")
        action_id, pending = self._write(protocol, action)
        return _Answer(self, action_id, pending, timeout or self.settings.action_timeout_s)

    def _write(self, protocol: AmiProtocol, action: Action) -> tuple[str, PendingAction]:
        action_id = f"{self._prefix}-{next(self._ids)}"
        future: asyncio.Future[AmiResponse] = asyncio.get_running_loop().create_future()
        try:
            data = action.render(action_id)
        except ValueError as exc:
            log.error("ami_action_refused", action=action.name, error=str(exc))
            raise AmiInvalidAction(f"{action.name} not sent: {exc}") from None
        pending = self._pending[action_id] = PendingAction(action, future, time.perf_counter())
        # answered or failed (the link dropped): forgotten even if nobody awaits the answer
        future.add_done_callback(lambda _: self._pending.pop(action_id, None))
        try:
            protocol.send(data)
        except BaseException:
            self._pending.pop(action_id, None)
            raise
        for observer in self._action_observers:
            try:
                observer(action, action_id, self._clock())
            except Exception:
                count_caught(self._metrics, "ami_action_observer_failed")
                log.exception("ami_action_observer_failed", action=action.name)
        return action_id, pending

    async def _send_on(self, protocol: AmiProtocol, action: Action, timeout: float) -> AmiResponse:
        action_id, pending = self._write(protocol, action)
        return await self._answer(action_id, pending, timeout)

    async def _answer(self, action_id: str, pending: PendingAction, timeout: float) -> AmiResponse:
        action = pending.action
        try:
            try:
                # not wait_for: on Python 3.11 it returns the answer and swallows a cancel that
                # comes as the answer arrives, and the cancelled task (a loop being stopped at
                # shutdown) would go on for ever
                async with asyncio.timeout(timeout):
                    response = await asyncio.shield(pending.future)
            except TimeoutError:
                raise AmiTimeout(f"{action.name}: no answer within {timeout:g}s") from None
        finally:
            self._pending.pop(action_id, None)
        if self._metrics is not None:
            latency = time.perf_counter() - pending.sent_at
            self._metrics.ami_action_latency.labels(action.name).observe(latency)
        if response.frame.fields.get("Response") == "Error":
            raise AmiActionFailed(action.name, response.message)
        return response

    async def agi(self, channel: str, command: str, timeout: float) -> AgiResult:
        """Queue an AGI command on a channel in AsyncAGI and wait for its ``AsyncAGIExec``.

        Raises:
            AgiChannelGone: the channel hung up or left AGI before the command ran.
            AmiTimeout: no result within ``timeout``.
        """
        command_id = f"{self._prefix}-agi-{next(self._ids)}"
        future: asyncio.Future[AgiResult] = asyncio.get_running_loop().create_future()
        self._agi[command_id] = AgiWait(channel, future)
        try:
            try:
                await self.send(messages.agi(channel, command, command_id))
            except AmiActionFailed as exc:
                raise AgiChannelGone(f"{channel}: {exc.message}") from None
            try:
                async with asyncio.timeout(timeout):  # not wait_for: see _answer
                    return await asyncio.shield(future)
            except TimeoutError:
                raise AmiTimeout(f"AGI {command.split(' ', 1)[0]}: no result in {timeout:g}s") from None
        finally:
            self._agi.pop(command_id, None)

    # --- from the protocol ---------------------------------------------------------------

    def _received(self, protocol: AmiProtocol, items: list[Frame | Banner | BadFrame]) -> None:
        self._inbound.received(protocol.banner, items)

    def _lost(self, protocol: AmiProtocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return
        was_up = self.state == "up"
        if self.state != "login_failed":  # the refused login's own abort says no more
            self.state = "closed" if self._closing else "down"
        self._up.clear()
        if self._metrics is not None:
            self._metrics.ami_link_up.set(0)
        reason = "closed by us" if self._closing else f"lost: {exc or 'peer closed the connection'}"
        self._inbound.fail_all(reason)
        if was_up:  # closing it ourselves (a shutdown) is no warning
            (log.info if self._closing else log.warning)("ami_link_down", reason=reason)
            self._background.add(asyncio.get_running_loop().create_task(self._notify_link("down")))


class _Answer:
    """The answer to an action :meth:`AmiClient.post` wrote: awaiting it waits as ``send``
    does (the waiting coroutine is made only then, so one never awaited warns of nothing)."""

    __slots__ = ("_action_id", "_client", "_pending", "_timeout")

    def __init__(self, client: AmiClient, action_id: str, pending: PendingAction, timeout: float) -> None:
        self._client = client
        self._action_id = action_id
        self._pending = pending
        self._timeout = timeout

    def __await__(self) -> Generator[Any, None, AmiResponse]:
        return self._client._answer(self._action_id, self._pending, self._timeout).__await__()

