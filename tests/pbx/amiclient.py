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
                   since: float = 0.0, story_of: str = "") -> Seen:
        """The first event since ``since`` that ``match`` accepts, waiting up to ``timeout_s``.
        With ``story_of`` (a channel), a timeout tells what that channel did meanwhile."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.find(match, since)
            if found:
                return found[0]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                told = f"; what {story_of} did:\n{self.story(story_of, since)}" if story_of else ""
                raise AssertionError(f"test AMI: no event {what or match} within {timeout_s}s{told}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    def story(self, channel: str, since: float = 0.0) -> str:
        """What ``channel`` did since ``since``, one line per event naming it (as the channel,
        or as a dial's, bridge's or transfer's other party: its dialplan steps, dials, bridges,
        transfers, hang-up), with the SIP contacts' statuses as they were at ``since`` and
        every change after: a failed wait on a channel explains itself (a Dial that never
        began because the carrier's contact was Unreachable, a hang-up, a redirect)."""
        last: dict[tuple[str, str], Seen] = {}
        lines: list[str] = []
        for seen in self.events:
            if seen.frame.event == "ContactStatus":
                if seen.at < since:
                    last[(seen.get("AOR"), seen.get("URI"))] = seen
                else:
                    lines.append(_told(seen, since))
            elif seen.at >= since and _telling(seen) and any(seen.get(k) == channel for k in _PARTIES):
                lines.append(_told(seen, since))
        before = [_told(seen, since) for seen in last.values()]
        return "\n".join([*before, *lines]) or "(no event)"


_PARTIES = ("Channel", "DestChannel", "TransfererChannel", "TransfereeChannel",
            "OrigTransfererChannel", "SecondTransfererChannel", "TransferTargetChannel")
_NOISE = frozenset({"VarSet", "RTCPSent", "RTCPReceived", "AsyncAGIExec", "NewConnectedLine"})
_TELLING_VARIABLES = frozenset({"DIALSTATUS"})
_TOLD = ("Channel", "Context", "Exten", "Priority", "Application", "AppData", "Command", "DestChannel",
         "DialStatus", "Variable", "Value", "BridgeUniqueid", "Result", "Cause", "Cause-txt", "AOR", "URI",
         "ContactStatus", "RoundtripUsec")


def _telling(seen: Seen) -> bool:
    """Not noise (RTCP reports, variables other than a dial's outcome)."""
    return seen.frame.event not in _NOISE or seen.get("Variable") in _TELLING_VARIABLES


def _told(seen: Seen, since: float) -> str:
    """One event as a line: its time from ``since``, its name and its telling fields."""
    fields = " ".join(f"{k}={seen.get(k)}" for k in _TOLD if seen.get(k))
    return f"  {seen.at - since:+8.3f}s {seen.frame.event} {fields}"


def event(name: str, **fields: str) -> Callable[[Seen], bool]:
    """Matcher: event ``name`` whose fields contain the given substrings."""
    def match(seen: Seen) -> bool:
        return seen.frame.event == name and all(v in seen.get(k) for k, v in fields.items())
    return match
