"""The asyncio side of the AMI link: TLS, bytes to frames, and a clean lost-connection signal.

:class:`AmiProtocol` keeps panoramisk's protocol class as its base (the project's AMI library)
and replaces what was wrong with it against Asterisk 22: frames are split as bytes
(:mod:`callcenter.ami.parser`), so UTF-8 cut across reads survives.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Protocol

import structlog
from panoramisk.ami_protocol import AMIProtocol as _PanoramiskProtocol

from callcenter.ami.errors import AmiLinkLost, AmiNotConnected
from callcenter.ami.parser import BadFrame, Banner, Frame, FrameParser
from callcenter.settings import AmiSettings

log = structlog.get_logger("callcenter.ami")


class LinkOwner(Protocol):
    """What the protocol reports to: the client that owns the link."""

    settings: AmiSettings

    def _received(self, protocol: AmiProtocol, items: list[Frame | Banner | BadFrame]) -> None: ...

    def _lost(self, protocol: AmiProtocol, exc: Exception | None) -> None: ...


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

    def __init__(self, client: LinkOwner) -> None:
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
