"""A small scriptable AMI server for tests: logs in, answers pings and list actions, and lets
a test push bytes or drop links."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from callcenter.ami.parser import Frame, FrameParser

Reply = Callable[[Frame], list[bytes] | None]


def frame(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class FakeAmi:
    """A small AMI server: logs in, answers pings, and lets a test push bytes or drop links."""

    def __init__(self, secret: str = "s3cret", answer_pings: bool = True) -> None:
        self.secret = secret
        self.answer_pings = answer_pings
        self.replies: dict[str, Reply] = {}
        self.silent: set[str] = set()
        self.connections = 0
        self.received: list[Frame] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.logged_in = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self.writers:
            writer.close()

    def push(self, data: bytes) -> None:
        self.writers[-1].write(data)

    def drop(self) -> None:
        self.writers[-1].transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        parser = FrameParser(kinds=("Action",))
        try:
            while data := await reader.read(65536):
                for item in parser.feed(data):
                    if isinstance(item, Frame):
                        self.received.append(item)
                        self._answer(writer, item)
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _answer(self, writer: asyncio.StreamWriter, action: Frame) -> None:
        name, action_id = action.fields.get("Action", ""), action.fields.get("ActionID", "")
        if name in self.silent:  # never answered (a Login left silent: a half-logged-in link)
            return
        if name == "Login":
            if action.fields.get("Secret") != self.secret:
                writer.write(frame("Response: Error", f"ActionID: {action_id}",
                                   "Message: Authentication failed"))
                writer.close()
                return
            writer.write(frame("Response: Success", f"ActionID: {action_id}",
                               "Message: Authentication accepted"))
            writer.write(frame("Event: FullyBooted", "Privilege: system,all", "Status: Fully Booted"))
            self.logged_in.set()
            return
        if name == "Ping" and not self.answer_pings:
            return
        custom = self.replies.get(name)
        if custom is not None:
            for data in custom(action) or []:
                writer.write(data)
            return
        if name in ("CoreShowChannels", "BridgeList", "Status"):
            complete = {"CoreShowChannels": "CoreShowChannelsComplete", "BridgeList": "BridgeListComplete",
                        "Status": "StatusComplete"}[name]
            writer.write(frame("Response: Success", f"ActionID: {action_id}", "EventList: start"))
            writer.write(frame(f"Event: {complete}", f"ActionID: {action_id}", "EventList: Complete",
                               "ListItems: 0"))
            return
        writer.write(frame("Response: Success", f"ActionID: {action_id}", "Ping: Pong"
                           if name == "Ping" else "Message: ok"))


