"""One AMI client connection: banner, framing, dispatch, and the event stream after login."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.ami.parser import BadFrame, Frame, FrameParser
from callcenter.simulator.manager import dispatch
from callcenter.simulator.replies import Reply, SessionState, err

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

log = logging.getLogger("callcenter.simulator")

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_FRAME_BYTES = 1_048_576
MAX_BUFFERED_BYTES = 16 * 1_048_576  # a client this far behind is cut off (Asterisk: writetimeout)
_ACTION_ID = re.compile(r"^ActionID: ?([^\r\n]*)", re.M | re.I)


class AmiSession:
    def __init__(self, pbx: Pbx, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.pbx = pbx
        self.reader = reader
        self.writer = writer
        self.state = SessionState()
        self.closed = False
        self.peer = str(writer.get_extra_info("peername"))

    async def serve(self) -> None:
        self.pbx.listeners.append(self.on_event)
        parser = FrameParser(MAX_FRAME_BYTES, kinds=("Action",))
        try:
            await self.pbx.ami_thawed.wait()  # frozen: the connection is accepted, nothing said
            self.writer.write(BANNER)
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                await self.pbx.ami_thawed.wait()  # frozen: read later, as a stopped process would
                for item in parser.feed(data):
                    if self.closed:
                        break
                    if isinstance(item, Frame):
                        self._handle(item)
                    elif isinstance(item, BadFrame):
                        self._bad(item)
                with contextlib.suppress(ConnectionError):
                    await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()

    def _handle(self, frame: Frame) -> None:
        try:
            reply = dispatch(self.pbx, self.state, frame)
        except Exception as exc:  # never let one bad action take the server down
            log.exception("simulator action failed: %s", frame.fields.get("Action"))
            reply = err(frame.get("ActionID") or None, f"Internal simulator error: {type(exc).__name__}")
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        for pairs in reply.frames:
            self.send(pairs)
        if reply.then is not None:
            try:
                reply.then()
            except Exception:
                log.exception("simulator action effect failed")
        if reply.close:
            self.close()

    def _bad(self, item: BadFrame) -> None:
        match = _ACTION_ID.search(item.excerpt)
        aid = match.group(1) if match else None
        if "exceeds" in item.reason:
            self.send(frames.error(aid, f"Request too large ({item.reason})"))
        else:
            self.send(frames.error(aid, "Missing action in request"))

    def on_event(self, pairs: frames.Pairs) -> None:
        if self.state.authenticated and self.state.events and not self.closed \
                and self.pbx.ami_thawed.is_set():
            self.send(pairs)

    def send(self, pairs: frames.Pairs) -> None:
        if self.closed or self.writer.is_closing():
            return
        self.writer.write(frames.render(pairs))
        transport = self.writer.transport
        if transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            log.warning("simulator AMI client %s too slow: disconnected", self.peer)
            transport.abort()
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ValueError):
            self.pbx.listeners.remove(self.on_event)
        with contextlib.suppress(Exception):
            self.writer.close()
