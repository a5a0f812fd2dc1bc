"""Fakes for the runner's edges: an AGI link answering with Asterisk 22's real result strings
(from shared/asterisk-lab), and in-memory sinks that remember what they were given."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from callcenter.ami.agi import AgiResult, parse_agi_result
from callcenter.ami.errors import AgiChannelGone
from callcenter.ami.messages import AmiEvent
from callcenter.ami.parser import Frame, parse_frame
from callcenter.orders.model import CustomerContext, OrderContext
from callcenter.orders.provider import OrderLookupError
from callcenter.orders.tickets import CallbackRequest
from ivr.effects import JsonValue, RouteRequirements
from ivr.model import Scalar
from tests.amilab import capture

# Result strings exactly as AsyncAGIExec carried them in the captures.
ANSWERED = "200%20result%3D0%0A"
PLAYED = "200%20result%3D0%20endpos%3D11234%0A"
MISSING_PROMPT = "200%20result%3D-1%20endpos%3D0%0A"
TIMEOUT = "200%20result%3D%20(timeout)%0A"
HUNG_UP = "200%20result%3D-1%0A"
SET = "200%20result%3D1%0A"
INVALID = "510%20Invalid%20or%20unknown%20command%0A"
MOH_DONE = "200%20result%3D0%0A"


def key(digits: str) -> str:
    """GET DATA's answer for ``digits`` (``200%20result%3D2%0A`` for 2)."""
    return f"200%20result%3D{digits}%0A"


Answer = str | BaseException | asyncio.Future[str]


class FakeAgi:
    """An AGI link: records commands; GET DATA answers come from ``keys`` (timeout when empty);
    ``script`` overrides the answer to commands starting with a prefix (first match, used once);
    MusicOnHold holds until ``moh`` has an answer or the runner gives up on it."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.keys: list[Answer] = []
        self.moh: list[Answer] = []
        self.script: list[tuple[str, Answer]] = []
        self.gone = False
        self.broken: BaseException | None = None
        self.waiting = asyncio.Event()
        # where Asterisk's AGIExecStart goes (the runner's on_event) when a command starts
        self.exec_started: Callable[[AmiEvent], None] = lambda _event: None
        self._in_flight: set[asyncio.Future[bool]] = set()
        self._starts: set[asyncio.Task[None]] = set()

    async def agi(self, channel: str, command: str, timeout: float) -> AgiResult:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()  # True: AGI ended
        before = [f for f in self._in_flight if not f.done()]
        if not command.startswith("EXEC MusicOnHold"):  # (a held MusicOnHold holds nothing up)
            self._in_flight.add(done)
        ended = True
        try:
            result = await self._agi(channel, command, before)
            ended = result.result is not None and result.result < 0
            return result
        finally:
            done.set_result(ended)
            self._in_flight.discard(done)

    async def _agi(self, channel: str, command: str, before: list[asyncio.Future[bool]]) -> AgiResult:
        self.commands.append(command)
        if self.broken is not None:
            raise self.broken
        if self.gone:
            raise AgiChannelGone(f"{channel}: Channel does not exist.")
        if command.startswith("EXEC MusicOnHold"):
            # Asterisk starts a queued command once the commands before it have ended (here:
            # those that are not hold music, which tests leave unanswered)
            started = event("AGIExecStart", channel, "", Command=command)

            async def start() -> None:
                if before:
                    await asyncio.wait(before)
                if not any(f.result() for f in before):  # never, once AGI has ended before it
                    self.exec_started(started)

            task = asyncio.get_running_loop().create_task(start())
            self._starts.add(task)
            task.add_done_callback(self._starts.discard)
        answer = self._answer(command)
        if isinstance(answer, BaseException):
            if isinstance(answer, AgiChannelGone):
                self.gone = True
            raise answer
        if isinstance(answer, asyncio.Future):
            self.waiting.set()
            answer = await answer
        return parse_agi_result(answer)

    def _answer(self, command: str) -> Answer:
        for index, (prefix, answer) in enumerate(self.script):
            if command.startswith(prefix):
                del self.script[index]
                return answer
        if command.startswith("GET DATA"):
            return self.keys.pop(0) if self.keys else TIMEOUT
        if command.startswith("EXEC MusicOnHold"):
            return self.moh.pop(0) if self.moh else asyncio.get_running_loop().create_future()
        if command.startswith("STREAM FILE"):
            return PLAYED
        if command.startswith(("SET VARIABLE", "HANGUP")):
            return SET
        if command.startswith("GET VARIABLE DIALSTATUS"):
            return "200%20result%3D1%20(ANSWER)%0A"
        if command.startswith("RECORD FILE"):
            return "200%20result%3D35%20(dtmf)%20endpos%3D40000%0A"
        return ANSWERED

    def played(self) -> list[str]:
        return [c.split(" ")[2] for c in self.commands if c.startswith(("STREAM FILE", "GET DATA"))]


class Recorder:
    """IvrRecorder in memory; notes the call_id bound in the log context at each call."""

    def __init__(self) -> None:
        self.path: dict[str, list[Mapping[str, JsonValue]]] = {}
        self.context: dict[str, dict[str, Scalar]] = {}
        self.bound: set[object] = set()

    async def append_path(self, call_id: str, entries: Sequence[Mapping[str, JsonValue]]) -> None:
        self.bound.add(structlog.contextvars.get_contextvars().get("call_id"))
        self.path.setdefault(call_id, []).extend(entries)

    async def update_context(self, call_id: str, values: Mapping[str, Scalar]) -> None:
        self.context.setdefault(call_id, {}).update(values)

    def kinds(self, call_id: str) -> list[str]:
        return [str(e["kind"]) for e in self.path.get(call_id, [])]

    def end(self, call_id: str) -> object:
        return [e for e in self.path[call_id] if e["kind"] == "end"][-1]["reason"]


class Router:
    def __init__(self) -> None:
        self.queued: list[tuple[str, str, RouteRequirements, Mapping[str, Scalar]]] = []
        self.failure: BaseException | None = None
        self.entered = asyncio.Event()  # enqueue was called (whatever it answered)
        self.withdrawn: list[str] = []
        self.give_back = True
        self.prepared: list[str] = []
        self.at_once = False  # enqueue_now queues (as the real hand-off does once its facts came)
        self.queued_at_once: list[str] = []

    def prepare(self, call_id: str, context: Mapping[str, Scalar]) -> None:
        self.prepared.append(call_id)

    async def enqueue(self, call_id: str, channel: str, requirements: RouteRequirements,
                      context: Mapping[str, Scalar]) -> None:
        self.entered.set()
        if self.failure is not None:
            raise self.failure
        self.queued.append((call_id, channel, requirements, dict(context)))

    def enqueue_now(self, call_id: str, channel: str, requirements: RouteRequirements,
                    context: Mapping[str, Scalar]) -> bool:
        if not self.at_once:
            return False
        self.entered.set()
        if self.failure is not None:
            raise self.failure
        self.queued.append((call_id, channel, requirements, dict(context)))
        self.queued_at_once.append(call_id)
        return True

    async def withdraw(self, call_id: str) -> bool:
        self.withdrawn.append(call_id)
        return self.give_back


class Orders:
    def __init__(self) -> None:
        self.customers: dict[str, CustomerContext] = {}
        self.orders: dict[str, OrderContext] = {}
        self.broken = False
        self.asked: list[str] = []

    async def customer_by_phone(self, phone: str) -> CustomerContext | None:
        self.asked.append(phone)
        if self.broken:
            raise OrderLookupError("database unreachable")
        return self.customers.get(phone)

    async def order_by_number(self, number: str) -> OrderContext | None:
        self.asked.append(number)
        if self.broken:
            raise OrderLookupError("database unreachable")
        return self.orders.get(number)


class Callbacks:
    def __init__(self) -> None:
        self.requests: list[CallbackRequest] = []

    async def create_callback(self, request: CallbackRequest) -> int:
        self.requests.append(request)
        return 100 + len(self.requests)


def frame_of(text: str) -> Frame:
    parsed = parse_frame(text.rstrip("\r\n"))
    assert isinstance(parsed, Frame)
    return parsed


def captured(name: str, event: str, nth: int = 0) -> AmiEvent:
    """The ``nth`` ``event`` frame Asterisk sent in a lab capture."""
    frames = [line.frame for line in capture(name) if line.direction == "in" and f"Event: {event}\r\n" in line.frame]
    return AmiEvent(frame_of(frames[nth]), 0.0)


def event(name: str, channel: str, linkedid: str, **fields: str) -> AmiEvent:
    lines = [f"Event: {name}", f"Channel: {channel}", f"Linkedid: {linkedid}",
             *(f"{k}: {v}" for k, v in fields.items())]
    return AmiEvent(frame_of("\r\n".join(lines)), 0.0)


def retarget(start: AmiEvent, **fields: str) -> AmiEvent:
    """The same frame with some headers changed (another context, channel state…)."""
    lines = []
    for line in start.frame.raw.split("\r\n"):
        name = line.split(": ", 1)[0]
        lines.append(f"{name}: {fields[name]}" if name in fields else line)
    return AmiEvent(frame_of("\r\n".join(lines)), 0.0)


async def settle(runner: Any, timeout: float = 5.0) -> None:
    await asyncio.wait_for(runner.wait_idle(), timeout)
