"""The AMI link: the one place that talks to Asterisk's manager interface.

panoramisk 1.4 is the project's AMI library, but its ``Manager`` cannot be trusted against
Asterisk 22 (DESIGN.md lists the defects). :class:`AmiProtocol` keeps panoramisk's protocol
class as its base and replaces the methods that were wrong; :class:`AmiClient` replaces the
``Manager``:

- frames are split as bytes (:mod:`callcenter.ami.parser`), so UTF-8 cut across reads survives;
- every frame that is an event reaches the event handlers, even when it carries the ActionID of
  an action in flight (``OriginateResponse``, list items);
- AGI results are matched on ``CommandId`` case-insensitively;
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
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from panoramisk.ami_protocol import AMIProtocol as _PanoramiskProtocol

from callcenter.ami import messages
from callcenter.ami.agi import AgiResult
from callcenter.ami.errors import (
    AgiChannelGone,
    AmiActionFailed,
    AmiError,
    AmiInvalidAction,
    AmiLinkLost,
    AmiLoginFailed,
    AmiNotConnected,
    AmiTimeout,
)
from callcenter.ami.messages import Action, AmiEvent, AmiResponse
from callcenter.ami.parser import BadFrame, Banner, Frame, FrameParser
from callcenter.ami.sanitize import sanitize_frame
from callcenter.clock import wall_time
from callcenter.metrics import Metrics
from callcenter.settings import AmiSettings

log = structlog.get_logger("callcenter.ami")

EventHandler = Callable[[AmiEvent], None]
ActionObserver = Callable[[Action, str, float], None]
LinkObserver = Callable[[str], Awaitable[None] | None]


@dataclass(slots=True)
class _Pending:
    action: Action
    future: asyncio.Future[AmiResponse]
    sent_at: float
    response: Frame | None = None
    items: list[AmiEvent] = field(default_factory=list)


@dataclass(slots=True)
class _AgiWait:
    channel: str
    future: asyncio.Future[AgiResult]


def tls_context(settings: AmiSettings) -> ssl.SSLContext | None:
    """The client TLS context for ``ami.tls`` (None: plain TCP). Verification is on unless
    ``ami.tls_verify`` is false (then logged at every connect: it invites a man in the middle)."""
    if not settings.tls:
        return None
    context = ssl.create_default_context(cafile=settings.tls_ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.tls_verify:
        log.warning("ami_tls_unverified", host=settings.host)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class AmiProtocol(_PanoramiskProtocol):  # type: ignore[misc]
    """asyncio protocol: bytes to the client's frame handler, and a clean lost-connection signal."""

    def __init__(self, client: AmiClient) -> None:
        self._client = client
        self._parser = FrameParser(client.settings.max_frame_bytes)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        loop = asyncio.get_running_loop()
        self.banner: asyncio.Future[str] = loop.create_future()
        # A link that closes before its banner is reported by _connect when it waits; if it
        # never waits (closing), the exception must not be left unretrieved.
        self.banner.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self.lost: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._client._received(self, self._parser.feed(data))

    def send(self, data: bytes) -> None:
        if self.transport is None or self.closed or self.transport.is_closing():
            raise AmiNotConnected("AMI link is not connected")
        self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.banner.done():
            self.banner.set_exception(AmiLinkLost("connection closed before the AMI banner"))
        self._client._lost(self, exc)
        if not self.lost.done():
            self.lost.set_result(None)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


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
        self._handlers: list[EventHandler] = []
        self._action_observers: list[ActionObserver] = []
        self._link_observers: list[LinkObserver] = []
        self._protocol: AmiProtocol | None = None
        self._pending: dict[str, _Pending] = {}
        self._agi: dict[str, _AgiWait] = {}
        self._ids = itertools.count(1)
        self._prefix = f"cc-{random.getrandbits(32):08x}"
        self._up = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False
        self.state = "down"
        self.last_error = ""
        self.version = ""
        self.events_received = 0
        self.bad_frames = 0
        self.sanitized = 0
        self.reconnects = 0

    # --- subscriptions -------------------------------------------------------------------

    def subscribe(self, handler: EventHandler) -> None:
        """Call ``handler(event)`` for every event, in arrival order, on the event loop."""
        self._handlers.append(handler)

    def observe_actions(self, observer: ActionObserver) -> None:
        """Call ``observer(action, action_id, sent_at)`` for every action sent."""
        self._action_observers.append(observer)

    def observe_link(self, observer: LinkObserver) -> None:
        """Call ``observer(state)`` on ``up`` (after login) and ``down``."""
        self._link_observers.append(observer)

    @property
    def connected(self) -> bool:
        return self.state == "up"

    def statistics(self) -> dict[str, Any]:
        return {"state": self.state, "pending_actions": len(self._pending),
                "pending_agi": len(self._agi), "events_received": self.events_received,
                "bad_frames": self.bad_frames, "sanitized": self.sanitized, "reconnects": self.reconnects,
                "last_error": self.last_error}

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
            await asyncio.wait_for(self._up.wait(), timeout)
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
            self.version = await asyncio.wait_for(asyncio.shield(protocol.banner),
                                                  self.settings.connect_timeout_s)
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
        if isinstance(action, messages.Originate):
            action = action.action()
        protocol = self._protocol
        if protocol is None or self.state != "up" or protocol.closed:
            raise AmiNotConnected(f"AMI link is {self.state}: {action.name} not sent")
        return await self._send_on(protocol, action, timeout or self.settings.action_timeout_s)

    async def _send_on(self, protocol: AmiProtocol, action: Action, timeout: float) -> AmiResponse:
        action_id = f"{self._prefix}-{next(self._ids)}"
        future: asyncio.Future[AmiResponse] = asyncio.get_running_loop().create_future()
        sent_at = time.perf_counter()
        try:
            data = action.render(action_id)
        except ValueError as exc:
            log.error("ami_action_refused", action=action.name, error=str(exc))
            raise AmiInvalidAction(f"{action.name} not sent: {exc}") from None
        self._pending[action_id] = _Pending(action, future, sent_at)
        try:
            protocol.send(data)
            for observer in self._action_observers:
                try:
                    observer(action, action_id, self._clock())
                except Exception:
                    log.exception("ami_action_observer_failed", action=action.name)
            try:
                response = await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                raise AmiTimeout(f"{action.name}: no answer within {timeout:g}s") from None
        finally:
            self._pending.pop(action_id, None)
        if self._metrics is not None:
            self._metrics.ami_action_latency.labels(action.name).observe(time.perf_counter() - sent_at)
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
        self._agi[command_id] = _AgiWait(channel, future)
        try:
            try:
                await self.send(messages.agi(channel, command, command_id))
            except AmiActionFailed as exc:
                raise AgiChannelGone(f"{channel}: {exc.message}") from None
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                raise AmiTimeout(f"AGI {command.split(' ', 1)[0]}: no result in {timeout:g}s") from None
        finally:
            self._agi.pop(command_id, None)

    # --- from the protocol ---------------------------------------------------------------

    def _received(self, protocol: AmiProtocol, items: list[Frame | Banner | BadFrame]) -> None:
        now = self._clock()
        events = 0
        for item in items:
            if type(item) is Frame:
                self._sanitize(item)
                if "Event" in item.fields:
                    events += 1
                    self._on_event(AmiEvent(item, now))
                else:
                    self._on_response(item)
            elif isinstance(item, Banner):
                if not protocol.banner.done():
                    protocol.banner.set_result(item.version)
            elif isinstance(item, BadFrame):
                self.bad_frames += 1
                if self._metrics is not None:
                    self._metrics.ami_bad_frames.inc()
                log.warning("ami_bad_frame", reason=item.reason, excerpt=item.excerpt[:80])
        self.events_received += events
        if events and self._metrics is not None:
            self._metrics.ami_events.inc(events)

    def _sanitize(self, frame: Frame) -> None:
        """Clean what the PBX sent before any handler sees it (:mod:`callcenter.ami.sanitize`)."""
        report = sanitize_frame(frame)
        if not report:
            return
        self.sanitized += 1
        if self._metrics is not None:
            for kind, names in (("control", report.control), ("truncated", report.truncated),
                                ("numeric", report.numeric)):
                if names:
                    self._metrics.ami_sanitized.labels(kind).inc()
        log.warning("ami_frame_sanitized", ami_event=frame.fields.get("Event", "")[:40],
                    control=list(report.control)[:10], truncated=list(report.truncated)[:10],
                    out_of_range=list(report.numeric)[:10])

    def _on_response(self, frame: Frame) -> None:
        pending = self._pending.get(frame.get("ActionID"))
        if pending is None or pending.future.done():
            return
        if pending.action.is_list and frame.fields.get("EventList") == "start":
            pending.response = frame
            return
        pending.future.set_result(AmiResponse(frame))

    def _on_event(self, event: AmiEvent) -> None:
        fields = event.frame.fields
        action_id = fields.get("ActionID")
        if action_id is not None:
            pending = self._pending.get(action_id)
            if pending is not None and pending.action.is_list and not pending.future.done():
                if fields.get("EventList") == "Complete":
                    pending.future.set_result(AmiResponse(pending.response or event.frame,
                                                          tuple(pending.items)))
                else:
                    pending.items.append(event)
        name = fields["Event"]
        if name == "AsyncAGIExec":
            wait = self._agi.get(event.command_id)
            if wait is not None and not wait.future.done():
                wait.future.set_result(event.agi_result())
        elif (name == "Hangup" or name == "AsyncAGIEnd") and self._agi:
            self._fail_agi(fields.get("Channel", ""), name)
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:
                log.exception("ami_event_handler_failed", handler=getattr(handler, "__qualname__", "?"),
                              ami_event=name)

    def _fail_agi(self, channel: str, why: str) -> None:
        for wait in self._agi.values():
            if wait.channel == channel and not wait.future.done():
                wait.future.set_exception(AgiChannelGone(f"{channel}: {why} before the AGI result"))

    def _lost(self, protocol: AmiProtocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return
        was_up = self.state == "up"
        self.state = "closed" if self._closing else "down"
        self._up.clear()
        if self._metrics is not None:
            self._metrics.ami_link_up.set(0)
        reason = "closed by us" if self._closing else f"lost: {exc or 'peer closed the connection'}"
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(AmiLinkLost(f"{pending.action.name}: AMI link {reason}"))
        for wait in self._agi.values():
            if not wait.future.done():
                wait.future.set_exception(AmiLinkLost(f"AGI on {wait.channel}: AMI link {reason}"))
        if was_up:
            log.warning("ami_link_down", reason=reason)
            self._background.add(asyncio.get_running_loop().create_task(self._notify_link("down")))
