"""The ``route`` effect: the caller holds (music on hold under AGI) while the router finds an agent.

Asterisk facts this relies on (``shared/asterisk-lab``):

- ``routed`` is set before the router may offer the call: an offer answered at once bridges the
  caller out of AsyncAGI, and a ``SET VARIABLE`` queued behind that is never run, so the caller
  would come back from the agent to ``[ivr-fallback]`` and be routed a second time.
- The same holds for the hold music: a ``MusicOnHold`` still queued when the Bridge pulls the
  caller out of AGI runs the next time the channel enters AGI (the post-call survey), which would
  then play music instead of the survey. So the call is handed to the router only once Asterisk
  has started the hold (``AGIExecStart``, seen by the runner as ``session.hold_started``).
- Asterisk runs an AsyncAGI command queued while the channel is idle in AGI only when the
  channel's next frame arrives (every 20 ms on a SIP call), but it runs the queue dry right
  after a command ends (``launch_asyncagi`` in ``res_agi.c``). So ``routed`` and the hold are
  queued *behind* the route node's prompt (:meth:`Holding.queue_ahead`, while it plays): when
  the prompt ends they run at once, and the router gets the call without waiting for a frame.
  Commands queued behind a prompt that ends AGI (it failed) run at the start of the channel's
  next AGI run; the hold queued that way is therefore never longer than half the command
  timeout, so that run's first command still gets its answer after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from callcenter.ami.agi import AgiResult
from callcenter.settings import IvrSettings
from ivr import commands as cmd
from ivr.agi_session import AgiError, AgiSession, check, consume
from ivr.effects import Event, HoldEnded, PathEntry, Route
from ivr.hold_ahead import HoldAhead, HoldWait
from ivr.hold_offer import CallbackOfferer, OfferPrompts
from ivr.journal import IvrJournal
from ivr.sinks import RouteSink

log = structlog.get_logger("ivr.hold")


class Holding:
    """Args:
        router: skill-based routing (queues the call, or gives it back after ``max_wait``).
        journal: where the ``queued`` step is recorded.
        settings: the command, hold and router timeouts.
        clock: timezone-aware now.
        offerer: plays the router's callback offers; with it the hold music stops when an offer
            is due (it resumes where it stopped), and the offer is played in between.
    """

    def __init__(self, router: RouteSink, journal: IvrJournal, settings: IvrSettings,
                 clock: Callable[[], datetime], offerer: CallbackOfferer | None = None) -> None:
        self._router = router
        self._journal = journal
        self._settings = settings
        self._clock = clock
        self._offerer = offerer

    def queue_ahead(self, session: AgiSession, effect: Route) -> None:
        """Queue ``routed`` and the hold now, behind the route node's prompt that was just sent
        (:meth:`route` takes them up when the prompt has played)."""
        ahead = self._queue(session, effect, self._settings.command_timeout_s / 2)
        # the router gets the call as soon as the hold starts: in the turn of the loop that
        # reads its AGIExecStart when the routing facts are at hand, else in a task of its own
        # (not when this call's IVR task has come round to its route step)
        session.when_hold_starts = lambda: self._queue_at_hold_start(session, effect, ahead)
        ahead.handover = asyncio.ensure_future(self._hand_over(session, effect, ahead))
        session.hold_ahead = ahead

    def drop_ahead(self, session: AgiSession) -> None:
        """The prompt before the route failed: forget what :meth:`queue_ahead` queued."""
        ahead, session.hold_ahead = session.hold_ahead, None
        session.when_hold_starts = None
        if ahead is not None:
            for future in (ahead.routed, ahead.hold, ahead.handover):
                if future is not None:
                    future.cancel()
                    future.add_done_callback(consume)

    def _queue_at_hold_start(self, session: AgiSession, effect: Route, ahead: HoldAhead) -> None:
        """The runner read the hold's AGIExecStart (Asterisk ran ``routed`` before it): queue
        the call now if the routing facts are at hand (:meth:`_hand_over` then has nothing
        left to do but report)."""
        try:
            ahead.queued = self._router.enqueue_now(session.call_id, session.start.channel,
                                                    effect.requirements, effect.context)
        except Exception as exc:  # reported by _hand_over, which sends the call on
            ahead.failed = exc

    async def _hand_over(self, session: AgiSession, effect: Route, ahead: HoldAhead) -> None:
        """Queue the call once the hold queued behind the prompt has started (Asterisk ran
        ``routed`` before it), unless :meth:`_queue_at_hold_start` did. The wait is on the
        event itself: one loop turn after the AGIExecStart, where :meth:`_wait_hold_started`
        takes three."""
        try:
            try:
                async with asyncio.timeout(self._settings.command_timeout_s):
                    await session.hold_started.wait()
            except TimeoutError:
                session.when_hold_starts = None  # a later stretch's start must not queue it
                log.warning("ivr_hold_start_unseen", channel=session.start.channel)
                await ahead.routed  # no AGIExecStart seen: routed's own answer (raises: caller left)
        except BaseException:
            session.when_hold_starts = None
            raise
        if ahead.failed is not None:
            ahead.hold.add_done_callback(consume)
            await session.set_state("active")
            raise ahead.failed
        if not ahead.queued:
            await self._enqueue(session, effect, ahead.hold)

    def _queue(self, session: AgiSession, effect: Route, limit_s: float | None = None) -> HoldAhead:
        self._router.prepare(session.call_id, effect.context)  # the routing facts, meanwhile
        # routed and the hold music are queued together, in that order (neither task awaits
        # before its AMI write): Asterisk runs the second right after the first, and routed is
        # still set before the hold starts and the router gets the call
        routed = asyncio.ensure_future(session.set_state("routed"))
        offerer = self._offerer_for(effect)
        wait = HoldWait(effect.max_wait_s)
        first = offerer.first_stretch(effect.requirements.skill) if offerer is not None else None
        if limit_s is not None:
            first = min(first or int(limit_s), max(1, int(limit_s)))
        hold = self._hold(session, effect.hold, wait.next(first))
        return HoldAhead(routed, hold, wait)

    def _offerer_for(self, effect: Route) -> CallbackOfferer | None:
        """Who plays callback offers during this route's hold (none without offer prompts)."""
        return self._offerer if OfferPrompts.of(effect.offer_prompts) is not None else None

    async def route(self, session: AgiSession, effect: Route, node: str) -> Event:
        """Hold the caller and queue the call; :class:`HoldEnded` when ``max_wait`` passed and
        the router gave the call back. A call an agent takes leaves AGI (:class:`Stop`), and so
        does a caller who takes a callback that keeps their place."""
        ahead, session.hold_ahead = session.hold_ahead, None
        if ahead is None:
            ahead = self._queue(session, effect)
        routed, hold, wait, offerer = ahead.routed, ahead.hold, ahead.wait, self._offerer_for(effect)
        try:
            await routed
            if ahead.handover is not None:
                await ahead.handover
        except BaseException:
            hold.add_done_callback(consume)
            if ahead.handover is not None:
                ahead.handover.cancel()
                ahead.handover.add_done_callback(consume)
            raise
        if ahead.handover is None:
            await self._wait_hold_started(session, hold)
            await self._enqueue(session, effect, hold)
        # with the music class and max_wait: a restarted server holds the caller on the same way
        queued = {**effect.requirements.to_json(), "hold": effect.hold, "max_wait": effect.max_wait_s}
        await self._journal.record(session.call_id, [PathEntry(self._clock(), node, "queued", queued)])
        return await self._hold_on(session, effect, node, hold, wait, offerer)

    async def keep(self, session: AgiSession, effect: Route, node: str,
                   queued_at: datetime | None = None) -> Event:
        """Hold a caller whose place in the queue the router restored after a restart: the
        previous process started the hold and queued the call, and this one serves the channel
        anew. The music (the route's class) goes on in stretches (a callback offer between two
        when due) until an agent takes the call (:class:`Stop`), or until the route's
        ``max_wait``, counted from ``queued_at`` (the time waited before the restart counts),
        has passed and the router gave the call back (:class:`HoldEnded`). The runner starts it
        once the previous process's stretch has ended."""
        offerer = self._offerer_for(effect)
        wait = HoldWait(remaining_wait(effect.max_wait_s, queued_at, self._clock()))
        stretch = offerer.stretch(session.call_id) if offerer is not None else None
        # a channel's AGI queue may still hold the previous process's commands
        hold = self._hold(session, effect.hold, wait.next(stretch), self._settings.hold_timeout_s)
        return await self._hold_on(session, effect, node, hold, wait, offerer)

    async def _hold_on(self, session: AgiSession, effect: Route, node: str, hold: asyncio.Future[AgiResult],
                       wait: HoldWait, offerer: CallbackOfferer | None) -> Event:
        """Stretch after stretch of music until the call leaves AGI, or max_wait passed and the
        router gave the call back (:class:`HoldEnded`)."""
        prompts = OfferPrompts.of(effect.offer_prompts)
        while True:
            check(await hold)
            if not wait.played():
                raise AgiError("hold music ended on its own (is the music-on-hold class configured?)")
            if offerer is not None and prompts is not None and offerer.due(session.call_id):
                await offerer.offer(session, prompts, node)
            if wait.over() and await asyncio.wait_for(self._router.withdraw(session.call_id),
                                                      self._settings.sink_timeout_s):
                await session.set_state("active")
                return HoldEnded()
            stretch = offerer.stretch(session.call_id) if offerer is not None else None
            hold = self._hold(session, effect.hold, wait.next(stretch))

    async def _enqueue(self, session: AgiSession, effect: Route, hold: asyncio.Future[AgiResult]) -> None:
        try:
            async with asyncio.timeout(self._settings.sink_timeout_s):  # in this task: no hop
                await self._router.enqueue(session.call_id, session.start.channel,
                                           effect.requirements, effect.context)
        except Exception:
            # the hold music plays on to its limit: the commands that follow queue behind it
            hold.add_done_callback(consume)
            await session.set_state("active")
            raise

    def _hold(self, session: AgiSession, music: str, seconds: int | None,
              wait_s: float | None = None) -> asyncio.Future[AgiResult]:
        """Start the hold music (``seconds``, or until the router takes the call); its answer is
        awaited for ``wait_s`` (default: the stretch and the command timeout)."""
        session.hold_started.clear()
        if seconds:
            command = cmd.exec_app("MusicOnHold", f"{music},{seconds}")
            wait = wait_s or seconds + self._settings.command_timeout_s
        else:
            command = cmd.exec_app("MusicOnHold", music)
            wait = self._settings.hold_timeout_s
        return asyncio.ensure_future(session.send(command, wait))

    async def _wait_hold_started(self, session: AgiSession, hold: asyncio.Future[AgiResult]) -> None:
        """Until Asterisk runs the hold command, the command fails or the caller leaves; at most
        ``command_timeout_s`` (a PBX that sends no AGIExecStart still gets its call routed)."""
        if session.hold_started.is_set():  # queued behind the prompt, it started as that ended
            return
        started: asyncio.Future[Any] = asyncio.ensure_future(session.hold_started.wait())
        waits: set[asyncio.Future[Any]] = {started, hold}
        try:
            await asyncio.wait(waits, timeout=self._settings.command_timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()
            started.add_done_callback(consume)
        if not session.hold_started.is_set() and not hold.done():
            log.warning("ivr_hold_start_unseen", channel=session.start.channel)


def remaining_wait(max_wait_s: int | None, queued_at: datetime | None, now: datetime) -> int | None:
    """What is left of ``max_wait_s`` at ``now`` for a call queued at ``queued_at`` (None: no
    limit). A wait already over still gets one second of music, so the router is asked for the
    call back as soon as this process holds the caller."""
    if not max_wait_s:
        return None
    if queued_at is None:
        return max_wait_s
    return max(1, max_wait_s - int((now - queued_at).total_seconds()))
