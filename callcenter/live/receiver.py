"""The AudioSocket server: one TCP connection per spied leg, bounded and distrustful.

A connection must name an expected stream (its UUID frame) within ``hello_s``; then its audio
goes through that speaker's :class:`~callcenter.live.vad.Segmenter` and each utterance that ends
is handed to the sink. Hostile or broken input (framing errors, unknown or reused UUIDs, too
many connections, silence on the wire for ``idle_s``) closes that connection only, and is
counted by reason in :attr:`LiveReceiver.rejected`; every other stream goes on. A stream that
ends without the server having ended it (the socket broke, or Asterisk hung the spy up) is a
*drop*: the sink hears it, and decides whether the leg is still wanted (a gap in the transcript,
the leg asked for again) or was ending anyway (its party hung up).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from typing import Protocol

import structlog

from callcenter.live.protocol import FrameReader, Kind, ProtocolError
from callcenter.live.streams import Expected, StreamBook
from callcenter.live.vad import Segmenter, Utterance, VadConfig

log = structlog.get_logger("callcenter.live")


class LiveSink(Protocol):
    def utterance(self, stream: Expected, utterance: Utterance, offset_s: float) -> None:
        """An utterance ended; ``offset_s`` is the stream's start in seconds since the bridge."""

    def stream_closed(self, stream: Expected, dropped: bool, at_s: float) -> None:
        """The stream is over; ``dropped``: not ended by the server. ``at_s``: since the bridge."""


class LiveReceiver:
    """Serves AudioSocket on ``host:port`` (0: any free port; see :attr:`port`).

    Args:
        book: the expected streams.
        sink: where utterances and stream ends go.
        clock: the server's clock (the stream's offset in the call).
        max_streams: connections served at once; more are refused.
    """

    def __init__(self, book: StreamBook, sink: LiveSink, clock: Callable[[], float], *,
                 host: str = "127.0.0.1", port: int = 0, max_streams: int = 64, hello_s: float = 5.0,
                 idle_s: float = 10.0, vad: VadConfig | None = None) -> None:
        self._book, self._sink, self._clock = book, sink, clock
        self._host, self._port = host, port
        self._max, self._hello_s, self._idle_s = max_streams, hello_s, idle_s
        self._vad = vad or VadConfig()
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.StreamWriter, Expected | None] = {}
        self.rejected: Counter[str] = Counter()
        self.audio_bytes = 0
        self.paused_bytes = 0  # audio that arrived for a paused call (dropped unheard)
        self.streams_served = 0

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port, limit=65536)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()

    def hang_up(self, stream: Expected) -> None:
        """We end the stream (hang-up, transfer, pause): close its connection if it is open."""
        self._book.end(stream)
        for writer, served in list(self._open.items()):
            if served is stream:
                writer.close()

    def statistics(self) -> dict[str, object]:
        return {"open": len(self._open), "served": self.streams_served, "audio_bytes": self.audio_bytes,
                "paused_bytes": self.paused_bytes, "rejected": dict(self.rejected), **self._book.statistics()}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._open) >= self._max:
            self.rejected["too_many_streams"] += 1
            writer.close()
            return
        self._open[writer] = None
        try:
            await self._session(reader, writer)
        except ProtocolError as exc:
            self.rejected[exc.reason] += 1
            log.warning("live_stream_rejected", reason=exc.reason, error=str(exc))
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.info("live_stream_lost", error=type(exc).__name__)
        finally:
            stream = self._open.pop(writer, None)
            writer.close()
            if stream is not None:
                self._closed(stream, dropped=not stream.ended)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader()
        segmenter = Segmenter(self._vad)
        offset = 0.0
        try:
            while True:
                stream = self._open.get(writer)
                async with asyncio.timeout(self._idle_s if stream else self._hello_s):  # not wait_for:
                    data = await reader.read(4096)  # it may swallow a cancel at shutdown
                if not data:
                    return
                for frame in frames.feed(data):
                    if frame.kind is Kind.UUID:
                        stream = self._open[writer] = self._claim(frames.stream_id or "")
                        offset = self._clock() - stream.bridged_at
                    elif frame.kind is Kind.HANGUP:
                        return
                    elif frame.kind is Kind.AUDIO and stream is not None:
                        self._audio(stream, segmenter, frame.payload, offset)
        finally:
            stream = self._open.get(writer)
            if stream is not None and stream.call_id not in self._book.paused:
                for utterance in segmenter.flush():
                    self._deliver(stream, utterance, offset)

    def _claim(self, stream_id: str) -> Expected:
        stream = self._book.claim(stream_id)
        if stream is None:
            raise ProtocolError("unknown_stream", f"no live stream {stream_id} is expected")
        self.streams_served += 1
        return stream

    def _audio(self, stream: Expected, segmenter: Segmenter, pcm: bytes, offset: float) -> None:
        if stream.call_id in self._book.paused:
            self.paused_bytes += len(pcm)
            return
        self.audio_bytes += len(pcm)
        for utterance in segmenter.feed(pcm):
            self._deliver(stream, utterance, offset)

    def _deliver(self, stream: Expected, utterance: Utterance, offset: float) -> None:
        try:
            self._sink.utterance(stream, utterance, offset)
        except Exception:  # one sink failure never stops the stream
            self.rejected["sink_failed"] += 1
            log.exception("live_sink_failed", call_id=stream.call_id)

    def _closed(self, stream: Expected, dropped: bool) -> None:
        with contextlib.suppress(Exception):
            self._sink.stream_closed(stream, dropped, self._clock() - stream.bridged_at)
