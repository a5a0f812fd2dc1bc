"""A TCP proxy between the server and Asterisk's AMI that records every frame both ways.

It runs on its own event loop in a thread, so it keeps forwarding while a test blocks, and it
survives the server being killed and Asterisk restarting (each server connection gets a fresh
upstream connection; a refused upstream closes the server's side, which then reconnects).
:meth:`AmiRecorder.capture` writes a window of the stream in the lab's capture format
(``{"t", "dir", "frame"}`` a line; ``in`` = from Asterisk).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path


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
        out = []
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
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                now = time.time()
                frames = splitter.feed(data)
                with self._lock:
                    self.frames.extend(Recorded(now, link, direction, f) for f in frames)
                writer.write(data)
                await writer.drain()

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
