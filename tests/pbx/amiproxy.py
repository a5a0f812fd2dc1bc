"""A TCP proxy between the server and Asterisk's AMI that records every frame both ways.

It runs on its own event loop in a thread, so it keeps forwarding while a test blocks, and it
survives the server being killed and Asterisk restarting (each server connection gets a fresh
upstream connection; a refused upstream closes the server's side, which then reconnects).
:meth:`AmiRecorder.capture` writes a window of the stream in the lab's capture format
(``{"t", "dir", "frame"}`` a line; ``in`` = from Asterisk). With :attr:`AmiRecorder.delay_s`
set, every byte reaches the other side that much later, in order and without the delays
adding up (a PBX answering slowly, or a slow network path to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path


class _Late:
    """Chunks written when their time comes, in order; ``idle`` once none is waiting."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        self._waiting = 0
        self.task = asyncio.ensure_future(self._run())

    @property
    def idle(self) -> bool:
        return self._waiting == 0

    def put(self, due: float, data: bytes) -> None:
        self._waiting += 1
        self._queue.put_nowait((due, data))

    async def finish(self) -> None:
        """What was read before the end still goes out."""
        self._queue.put_nowait(None)
        await self.task

    async def _run(self) -> None:
        with contextlib.suppress(OSError):
            while (item := await self._queue.get()) is not None:
                due, data = item
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                self._writer.write(data)
                await self._writer.drain()
                self._waiting -= 1


@dataclass(frozen=True)
class Recorded:
    at: float
    link: int
    direction: str  # "in" from Asterisk, "out" from the server
    frame: str


class _Splitter:
    def __init__(self, banner: bool) -> None:
        self.buffer = b""
        self.banner = banner

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        out: list[str] = []
        if self.banner:
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return out
            out.append(self.buffer[:end + 2].decode("utf-8", "replace"))
            self.buffer = self.buffer[end + 2:]
            self.banner = False
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            out.append(self.buffer[:end + 4].decode("utf-8", "replace"))
            self.buffer = self.buffer[end + 4:]
        return out


class AmiRecorder:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.frames: list[Recorded] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ami-recorder", daemon=True)
        self._server: asyncio.Server | None = None
        self._links = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self.delay_s = 0.0  # each direction; read on the proxy's loop as data arrives
        self.refusing = False  # new links are closed at once (the server's link stays down)

    def start(self) -> AmiRecorder:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self) -> None:
        """Close every link now (the server sees the AMI connection drop)."""
        def close() -> None:
            for writer in list(self._writers):
                writer.close()
        self._loop.call_soon_threadsafe(close)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._links += 1
        link = self._links
        self._writers.update((writer, up_writer))
        pumps = [asyncio.ensure_future(self._pump(up_reader, writer, link, "in")),
                 asyncio.ensure_future(self._pump(reader, up_writer, link, "out"))]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        for w in (writer, up_writer):
            w.close()
            self._writers.discard(w)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: int,
                    direction: str) -> None:
        splitter = _Splitter(banner=direction == "in")
        late = _Late(writer)
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await reader.read(65536):
                    now = time.time()
                    frames = splitter.feed(data)
                    with self._lock:
                        self.frames.extend(Recorded(now, link, direction, f) for f in frames)
                    if self.delay_s <= 0 and late.idle:
                        writer.write(data)
                        await writer.drain()
                    else:
                        late.put(time.monotonic() + self.delay_s, data)
            await late.finish()
        finally:
            late.task.cancel()

    def snapshot(self, since: float = 0.0) -> list[Recorded]:
        with self._lock:
            return [f for f in self.frames if f.at >= since]

    def capture(self, path: Path, since: float, until: float | None = None) -> int:
        """Write the frames of ``[since, until]`` as a capture; returns how many."""
        frames = [f for f in self.snapshot(since) if until is None or f.at <= until]
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            for f in frames:
                fh.write(json.dumps({"t": round(f.at - since, 3), "dir": f.direction,
                                     "link": f.link, "frame": f.frame}, ensure_ascii=False) + "\n")
        return len(frames)
