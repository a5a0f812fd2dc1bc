"""The live streams of each bridged call: started, stopped, paused, restarted after a drop.

The dispatcher tells it when a call is bridged (spy on the caller's and the agent's legs), when
the agent changes (transfer: the old agent's stream stops, the new one's starts), when the
agent's leg hangs up and when the call ends. The recording pause for card data stops both
streams *before* the recording is muted and starts them again after it is unmuted: no audio
leaves Asterisk while the caller reads card data, and the transcript gets a ``paused`` gap. A
stream that drops while wanted gets a ``dropped`` gap and is asked for again (a few times);
once a call's streams have dropped too often, live gives up on it for good and its recordings
are followed instead (:meth:`LiveService.streamed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import structlog

from callcenter.calls.events import AgentHungUp, Bridged, CallEnded, CallEvent
from callcenter.calls.model import Call
from callcenter.jobs.queue import JobQueue
from callcenter.live import store
from callcenter.live.spies import SpyLauncher
from callcenter.live.streams import Expected, StreamBook
from callcenter.live.vad import Utterance
from callcenter.runtime.tasks import Tasks

log = structlog.get_logger("callcenter.live")

MAX_RESTARTS = 5
RESTART_DELAY_S = 0.5


@dataclass
class LiveCall:
    bridged_at: float
    legs: dict[str, str]  # speaker -> the spied channel
    gaps: dict[str, int] = field(default_factory=dict)  # speaker -> open gap row
    restarts: int = 0
    gave_up: bool = False  # a stream dropped once too often: not transcribed live any more


class LiveService:
    """Args:
        book: the expected streams (shared with the receiver).
        spies: sends the spies' Originate/Hangup.
        hang_up: closes a stream's connection on our side (the receiver's ``hang_up``).
        call_of: the tracker's call for a call id.
    """

    def __init__(self, book: StreamBook, spies: SpyLauncher, hang_up: Callable[[Expected], None],
                 call_of: Callable[[str], Call | None], pool: asyncpg.Pool, queue: JobQueue,
                 clock: Callable[[], float], on_ended: Callable[[str], None] | None = None) -> None:
        self._book, self._spies, self._hang_up, self._call_of = book, spies, hang_up, call_of
        self._pool, self._queue, self._clock = pool, queue, clock
        self._on_ended = on_ended
        self.calls: dict[str, LiveCall] = {}
        self._tasks = Tasks(self._failed, redact=True)  # a failed insert may echo its words or audio
        self._writes = asyncio.Semaphore(32)
        self.segments = 0
        self.write_failures = 0
        self.gave_up = 0

    # --- the dispatcher's events ---------------------------------------------------------

    def on_call_event(self, event: CallEvent) -> None:
        """Dispatcher subscriber (the recording stage)."""
        if isinstance(event, Bridged):
            self._bridged(event)
        elif isinstance(event, AgentHungUp):
            self._stop(event.call_id, "agent")
        elif isinstance(event, CallEnded):
            live = self.calls.pop(event.call_id, None)
            for stream in self._book.forget(event.call_id):
                self._tasks.spawn(self._spies.stop(stream))
                self._hang_up(stream)
            if live is not None and self._on_ended is not None:
                self._on_ended(event.call_id)

    def _bridged(self, event: Bridged) -> None:
        call = self._call_of(event.call_id)
        caller = call.caller if call is not None else None
        if caller is None or caller.ended_at is not None:
            return
        live = self.calls.get(event.call_id)
        if live is None:
            live = self.calls[event.call_id] = LiveCall(event.answered_at, {})
        if live.legs.get("agent") not in (None, event.agent_channel):
            self._stop(event.call_id, "agent")  # transferred: the new agent gets their own stream
        wanted = {"customer": caller.channel, "agent": event.agent_channel}
        for speaker, channel in wanted.items():
            if live.legs.get(speaker) != channel:
                live.legs[speaker] = channel
                self._start(event.call_id, speaker)

    def _start(self, call_id: str, speaker: str) -> None:
        live = self.calls.get(call_id)
        if live is None or call_id in self._book.paused:
            return
        stream = self._book.expect(call_id, speaker, live.legs[speaker], live.bridged_at)
        self._tasks.spawn(self._spies.start(stream))

    def _stop(self, call_id: str, speaker: str) -> None:
        for stream in self._book.live(call_id):
            if stream.speaker == speaker:
                self._tasks.spawn(self._spies.stop(stream))
                self._hang_up(stream)
        live = self.calls.get(call_id)
        if live is not None:
            live.legs.pop(speaker, None)

    def live_calls(self) -> dict[str, float]:
        """The calls being streamed, with when each was bridged."""
        return {call_id: live.bridged_at for call_id, live in self.calls.items()}

    def streamed(self) -> set[str]:
        """The calls whose transcript is made live, so their recordings are not followed: every
        call held here, also while paused (card data) or while a dropped stream is asked for
        again, but not one whose streams live gave up on for good."""
        return {call_id for call_id, live in self.calls.items() if not live.gave_up}

    def call_of_channel(self, channel: str) -> str | None:
        return next((c for c, live in self.calls.items() if channel in live.legs.values()), None)

    # --- the recording pause -----------------------------------------------------------------

    async def pause(self, call_id: str, paused: bool) -> None:
        """Before the recording is muted (``paused``) / after it is unmuted: stop / restart."""
        live = self.calls.get(call_id)
        if live is None:
            return
        at = self._clock() - live.bridged_at
        if paused:
            self._book.paused.add(call_id)
            streams = self._book.live(call_id)
            for stream in streams:
                self._hang_up(stream)
            await asyncio.gather(*(self._spies.stop(s) for s in streams))
            for speaker in list(live.legs):
                gap = await self._gap_row(store.open_gap(self._pool, call_id, speaker, at, "paused"))
                if gap is not None:
                    live.gaps[speaker] = gap
            return
        self._book.paused.discard(call_id)
        for speaker in list(live.legs):
            gap = live.gaps.pop(speaker, None)
            if gap is not None:
                await self._gap_row(store.close_gap(self._pool, gap, at))
            self._start(call_id, speaker)

    async def _gap_row(self, write: Awaitable[int | None]) -> int | None:
        """A gap row written; a database failure is logged and counted, never in the way of the
        recording's mute (card data) or of the streams starting again."""
        try:
            return await write
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            self.write_failures += 1
            log.warning("live_gap_not_written", error=type(exc).__name__)
            return None

    # --- the receiver's sink ---------------------------------------------------------------

    def utterance(self, stream: Expected, utterance: Utterance, offset_s: float) -> None:
        speech_end_at = self._clock() - (utterance.end - utterance.speech_end)
        self._tasks.spawn(self._save(stream, utterance, offset_s, speech_end_at))

    def stream_closed(self, stream: Expected, dropped: bool, at_s: float) -> None:
        self._book.end(stream)
        if not dropped:
            return
        if self._wanted(stream):
            self._tasks.spawn(self._restart(stream, at_s))
        else:
            self._give_up_if_spent(stream)

    def _spied(self, stream: Expected) -> bool:
        """Whether the stream's leg is still to be streamed (not paused, not hung up or replaced)."""
        live = self.calls.get(stream.call_id)
        return (live is not None and stream.call_id not in self._book.paused
                and live.legs.get(stream.speaker) == stream.channel)

    def _wanted(self, stream: Expected) -> bool:
        live = self.calls.get(stream.call_id)
        return live is not None and self._spied(stream) and live.restarts < MAX_RESTARTS

    def _give_up_if_spent(self, stream: Expected) -> None:
        """A stream still wanted but out of restarts: live gives up on the call for good (the
        rest of it is followed from its recordings)."""
        live = self.calls.get(stream.call_id)
        if live is None or live.gave_up or not self._spied(stream) or live.restarts < MAX_RESTARTS:
            return
        live.gave_up = True
        self.gave_up += 1
        log.warning("live_stream_given_up", call_id=stream.call_id, speaker=stream.speaker,
                    restarts=live.restarts)

    async def _restart(self, stream: Expected, at_s: float) -> None:
        """A spy that ended on its own: after a moment (the leg's own hang-up arrives first when
        its party left), a gap in the transcript and the leg asked for again."""
        await asyncio.sleep(RESTART_DELAY_S)
        live = self.calls.get(stream.call_id)
        if live is None or not self._wanted(stream):
            self._give_up_if_spent(stream)
            return
        live.restarts += 1
        log.warning("live_stream_dropped", call_id=stream.call_id, speaker=stream.speaker,
                    at_s=round(at_s, 1))
        gap = await store.open_gap(self._pool, stream.call_id, stream.speaker, at_s, "dropped")
        self._start(stream.call_id, stream.speaker)
        await store.close_gap(self._pool, gap, self._clock() - live.bridged_at)

    async def _save(self, stream: Expected, u: Utterance, offset_s: float, speech_end_at: float) -> None:
        async with self._writes:
            await store.save_segment(self._pool, self._queue, stream.call_id, stream.speaker,
                                     max(0.0, offset_s + u.start), offset_s + u.end, speech_end_at, u.pcm)
        self.segments += 1

    def _failed(self, _: BaseException) -> None:
        self.write_failures += 1

    async def close(self) -> None:
        await self._tasks.cancel_all()
