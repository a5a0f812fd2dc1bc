"""The test's own AMI link to the real Asterisk (user ``pbxtest`` of the overlay): it watches
every event, with the time it arrived, and sends the actions the simulated carrier and the
test need (Getvar, Originate for the app_queue baseline). Never the server's link.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.ami.parser import Frame, FrameParser


@dataclass(frozen=True)
class Seen:
    at: float  # time.time() when it arrived
    frame: Frame

    def get(self, key: str) -> str:
        return self.frame.get(key)

    @property
    def raised(self) -> float:
        """When Asterisk raised the event (its ``Timestamp``, with ``timestampevents = yes``),
        else when it arrived here."""
        stamp = self.frame.get("Timestamp")
        try:
            return float(stamp) if stamp else self.at
        except ValueError:
            return self.at


class TestAmi:
    __test__ = False  # a client, not a test class

    def __init__(self, port: int, secret: str, user: str = "pbxtest") -> None:
        self.port, self.secret, self.user = port, secret, user
        self.events: list[Seen] = []
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[str, tuple[asyncio.Future[list[Frame]], list[Frame]]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    async def connect(self, timeout_s: float = 20.0) -> TestAmi:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        self._reader_task = asyncio.create_task(self._read(reader))
        reply = await self.send({"Action": "Login", "Username": self.user, "Secret": self.secret})
        if reply[0].response != "Success":
            raise AssertionError(f"test AMI login refused: {reply[0].raw}")
        return self

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task

    async def _read(self, reader: asyncio.StreamReader) -> None:
        parser = FrameParser(kinds=("Event", "Response"))
        while data := await reader.read(65536):
            now = time.time()
            for item in parser.feed(data):
                if not isinstance(item, Frame):
                    continue
                pending = self._pending.get(item.get("ActionID"))
                if pending is not None and (item.response or pending[1]):
                    future, frames = pending
                    frames.append(item)
                    if frames[0].get("EventList") != "start" or item.get("EventList") == "Complete":
                        self._pending.pop(item.get("ActionID"), None)
                        if not future.done():
                            future.set_result(frames)
                    continue
                self.events.append(Seen(now, item))
                self._changed.set()

    async def send(self, action: dict[str, str], timeout_s: float = 15.0) -> list[Frame]:
        """Send an action; its response (and, for a list, every frame up to ``...Complete``)."""
        assert self._writer is not None
        action_id = f"t{next(self._ids)}"
        future: asyncio.Future[list[Frame]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = (future, [])
        text = "".join(f"{k}: {v}\r\n" for k, v in {**action, "ActionID": action_id}.items())
        self._writer.write((text + "\r\n").encode())
        await self._writer.drain()
        return await asyncio.wait_for(future, timeout_s)

    async def getvar(self, variable: str, channel: str = "") -> str:
        action = {"Action": "Getvar", "Variable": variable}
        if channel:
            action["Channel"] = channel
        reply = await self.send(action)
        return reply[0].get("Value")

    def find(self, match: Callable[[Seen], bool], since: float = 0.0) -> list[Seen]:
        return [e for e in self.events if e.at >= since and match(e)]

    async def wait(self, match: Callable[[Seen], bool], timeout_s: float = 20.0, what: str = "",
                   since: float = 0.0) -> Seen:
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.find(match, since)
            if found:
                return found[0]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"test AMI: no event {what or match} within {timeout_s}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))


def event(name: str, **fields: str) -> Callable[[Seen], bool]:
    """Matcher: event ``name`` whose fields contain the given substrings."""
    def match(seen: Seen) -> bool:
        return seen.frame.event == name and all(v in seen.get(k) for k, v in fields.items())
    return match
