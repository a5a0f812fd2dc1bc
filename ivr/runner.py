"""The AsyncAGI runner: one asyncio task per call in the IVR, started and ended by AMI events.

Feed it every AMI event (:meth:`IvrRunner.on_event`, e.g. ``AmiClient.subscribe``). On
``AsyncAGIStart`` in an inbound context (``ivr.inbound_contexts``) it starts the inbound flow; in
a survey context the survey flow (for a call that was answered); in a fallback context (the
dialplan's safety net after an AGI failure) a plain route to the fallback skill. Each task binds
the call id (the Linkedid) into the log context.

The pieces: :mod:`ivr.agi_session` (one channel's AGI commands and their resend),
:mod:`ivr.conductor` (one call's run through the interpreter), :mod:`ivr.perform` and
:mod:`ivr.hold` (what each effect does), :mod:`ivr.journal` (the path, the context and the
summary the agent's screen reads).

The runner keeps ``CC_IVR`` (``ivr.state_variable``) on the channel up to date (``active``,
``routed``, ``failed``), so the dialplan can tell a call the router took from one whose IVR broke.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from callcenter.ami.messages import AmiEvent
from callcenter.clock import utc, wall_time
from callcenter.orders.provider import OrderContextProvider
from callcenter.settings import IvrSettings
from ivr.agi_session import AgiSession, CallStart, Stop
from ivr.conductor import Conductor, FlowSource
from ivr.effects import OFFER_PROMPTS, HeldPlace, Route
from ivr.faults import Caught, uncounted
from ivr.hold import Holding
from ivr.hold_offer import CallbackOfferer, CallbackOffers
from ivr.journal import IvrJournal
from ivr.perform import Performer
from ivr.sinks import AgiLink, CallbackSink, IvrRecorder, Redirector, RouteSink
from ivr.sounds import PROJECT_SOUNDS, PromptResolver, SoundIndex
from ivr.steps import InterpreterConfig
from ivr.transfer import TRANSFER_CONTEXT, Transfers

log = structlog.get_logger("ivr.runner")

_LEFT_ON = {"BridgeEnter": "bridged", "AsyncAGIEnd": "agi_ended", "Hangup": "hangup"}


def _utcnow() -> datetime:
    return utc(wall_time())


class IvrRunner:
    """Runs IVR flows over AsyncAGI.

    Args:
        link: AGI commands (``AmiClient``).
        flows: current flows by id (:class:`~ivr.registry.FlowRegistry`).
        recorder: where each call's IVR path and context go.
        router: skill-based routing.
        orders: order-context provider for ``lookup`` nodes.
        callbacks: callback ticket writer.
        redirector: AMI Redirect for ``transfer`` to an extension (optional).
        settings: the ``[ivr]`` settings: flows, dialplan contexts, timeouts and limits.
        resolver: per-language prompt names (default: the project's sound folder).
        clock: timezone-aware now (injectable: business hours in tests).
        answered: whether a call was answered by an agent (the survey runs only then).
        callback_offers: routing's callback offers, played during the hold (none: no offers).
        transfers: the ticket of a caller an agent transferred (:mod:`ivr.transfer`); without
            it a caller in the transfer context is routed like the dialplan's fallback.
    """

    def __init__(self, link: AgiLink, flows: FlowSource, recorder: IvrRecorder, router: RouteSink,
                 orders: OrderContextProvider, callbacks: CallbackSink, *,
                 redirector: Redirector | None = None, settings: IvrSettings | None = None,
                 resolver: PromptResolver | None = None, clock: Callable[[], datetime] = _utcnow,
                 answered: Callable[[str], bool] | None = None,
                 callback_offers: CallbackOffers | None = None,
                 transfers: Transfers | None = None, caught: Caught = uncounted) -> None:
        self._link = link
        self.settings = settings = settings or IvrSettings()
        resolver = resolver or PromptResolver(SoundIndex.scan([PROJECT_SOUNDS]))
        config = InterpreterConfig(resolver=resolver, fallback_skill=settings.fallback_skill,
                                   max_digits=settings.max_digits)
        self._caught = caught
        self.journal = IvrJournal(recorder, settings, caught)
        offerer = (CallbackOfferer(callback_offers, self.journal, settings, clock)
                   if callback_offers is not None else None)
        self._holding = Holding(router, self.journal, settings, clock, offerer)
        self._resolver = resolver
        self.performer = Performer(self._holding, orders, callbacks, settings, redirector, caught)
        self._conductor = Conductor(flows, self.journal, self.performer, settings, config, clock, answered,
                                    transfers, caught=caught)
        self._sessions: dict[str, AgiSession] = {}
        self._calls_of_channel: dict[str, str] = {}
        # after a restart: the hold to start once the previous process's stretch ends
        self._hold_when_done: dict[str, Callable[[], object]] = {}
        self.started = 0
        self.finished: dict[str, int] = {}

    # --- AMI events ----------------------------------------------------------------------

    def on_event(self, event: AmiEvent) -> None:
        """Handle one AMI event (synchronously; never raises)."""
        try:
            name = event.name
            if name == "AsyncAGIStart":
                start = CallStart.from_event(event)
                kind = self._kind(start.context)
                if kind is not None:
                    self.start_call(start, kind)
            elif name == "AGIExecStart":
                session = self._sessions.get(event.channel)
                command = (event.get("Command") or "").upper()
                if session is not None and command.startswith("EXEC MUSICONHOLD"):
                    session.hold_started.set()
                    at_start, session.when_hold_starts = session.when_hold_starts, None
                    if at_start is not None:
                        at_start()
            elif name == "AsyncAGIExec" and event.channel not in self._sessions:
                hold = self._hold_when_done.pop(event.channel, None)
                if hold is not None:  # the previous process's stretch of music ended
                    hold()
            elif name in _LEFT_ON:
                self._hold_when_done.pop(event.channel, None)
                session = self._sessions.get(event.channel)
                if session is not None:
                    session.leave(_LEFT_ON[name])
                if name == "Hangup":
                    self._forget_channel(event.channel)
        except Exception:
            self._caught("ivr_event_failed")
            log.exception("ivr_event_failed", ami_event=event.name)

    def adopt(self, channels: Iterable[AmiEvent], may_start: Callable[[CallStart, str], bool]
              ) -> list[str]:
        """After a reconnect or a restart: start the flow for every channel Asterisk reports in
        AsyncAGI (``CoreShowChannel`` items) that no session here serves, in an IVR or survey
        context, when ``may_start(start, kind)`` agrees (a caller on hold also runs AGI: the
        caller's place in the queue decides). Their ``AsyncAGIStart`` was lost with the link;
        they would wait in silence forever. An inbound caller in the hold music (an AGI command,
        queued behind the route prompt) whom ``may_start`` lets start had no place in the queue
        yet: the flow starts again, its commands run when that stretch of music ends.
        Returns the channels started."""
        started: list[str] = []
        for item in channels:
            application = item.get("Application")
            if application not in ("AGI", "MusicOnHold"):
                continue
            channel = item.get("Channel")
            if not channel or channel in self._sessions:
                continue
            start = CallStart.from_channel(item)
            kind = self._kind(start.context)
            if kind is None or (application != "AGI" and kind != "inbound") or not may_start(start, kind):
                continue
            log.info("ivr_call_adopted", call_id=start.linkedid, channel=channel, kind=kind)
            self.start_call(start, kind)
            started.append(channel)
        return started

    def keep_holding(self, channels: Iterable[AmiEvent], held: Callable[[CallStart], HeldPlace | None]
                     ) -> list[str]:
        """After a restart: hold on (music in stretches, callback offers when due) for every
        inbound caller Asterisk reports in AsyncAGI or in its hold music (``CoreShowChannel``
        items) whom no session here serves and whose place in the queue the router restored
        (``held(start)``). The previous process's hold music ends after its stretch; without a
        session the caller would then wait for an agent in silence. Returns the channels held."""
        kept: list[str] = []
        for item in channels:
            channel = item.get("Channel")
            if item.get("Application") not in ("AGI", "MusicOnHold") or not channel \
                    or channel in self._sessions:
                continue
            start = CallStart.from_channel(item)
            place = held(start) if self._kind(start.context) == "inbound" else None
            if place is None:
                continue
            log.info("ivr_hold_adopted", call_id=start.linkedid, channel=channel)
            hold = partial(self._begin, start, "inbound", partial(self._keep, place=place))
            if item.get("Application") == "MusicOnHold":
                # not queued behind the previous stretch: an agent who answers meanwhile would
                # leave the command queued for the channel's next AGI run (the survey)
                self._hold_when_done[channel] = hold
            else:
                hold()
            kept.append(channel)
        return kept

    def _kind(self, context: str) -> str | None:
        settings = self.settings
        if context in settings.inbound_contexts:
            return "inbound"
        if context in settings.survey_contexts:
            return "survey"
        if context in settings.fallback_contexts:
            return "fallback"
        if context == TRANSFER_CONTEXT:
            return "transfer"
        return None

    def start_call(self, start: CallStart, kind: str = "inbound") -> asyncio.Task[None]:
        """Start the flow for a channel that entered AGI (a previous run on it is ended)."""
        return self._begin(start, kind, self._conductor.serve)

    def _begin(self, start: CallStart, kind: str, serve: Callable[[AgiSession], Awaitable[None]]
               ) -> asyncio.Task[None]:
        previous = self._sessions.get(start.channel)
        if previous is not None:
            previous.leave("new_agi")
        session = AgiSession(start, kind, self._link, self.settings)
        self._sessions[start.channel] = session
        self._calls_of_channel.pop(start.channel, None)
        self._calls_of_channel[start.channel] = start.linkedid
        while len(self._calls_of_channel) > 2 * self.settings.remember_calls:
            del self._calls_of_channel[next(iter(self._calls_of_channel))]
        session.task = asyncio.get_running_loop().create_task(self._run(session, serve),
                                                              name=f"ivr {start.linkedid}")
        self.started += 1
        return session.task

    def _forget_channel(self, channel: str) -> None:
        linkedid = self._calls_of_channel.pop(channel, None)
        if linkedid is not None and linkedid not in self._calls_of_channel.values():
            self.journal.forget(linkedid)

    # --- public helpers ------------------------------------------------------------------

    def sensitive_input_active(self, channel: str) -> bool:
        """True while the caller on ``channel`` keys a sensitive value: whoever logs DTMF or AGI
        results (the event log, ``calls.digits``) must mask them now."""
        session = self._sessions.get(channel)
        return session is not None and session.sensitive

    def summary(self, call_id: str) -> dict[str, Any]:
        """What the caller did in the IVR, for the agent's screen (:meth:`IvrJournal.summary`)."""
        return self.journal.summary(call_id)

    def add_sensitive_listener(self, listener: Callable[[str, bool], None]) -> None:
        """``listener(call_id, active)`` when a caller starts and stops keying a sensitive value
        (the recording is paused meanwhile). It must not block; errors are logged."""
        self.performer.add_sensitive_listener(listener)

    async def wait_idle(self) -> None:
        """Wait until no call is in the IVR (tests, shutdown)."""
        while self._sessions:
            tasks = [s.task for s in self._sessions.values() if s.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop every call's task (server shutdown: calls fall to the dialplan's safety net)."""
        tasks = [s.task for s in self._sessions.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def statistics(self) -> dict[str, Any]:
        return {"active": len(self._sessions), "started": self.started, "finished": dict(self.finished),
                "remembered": len(self.journal)}

    # --- one call ------------------------------------------------------------------------

    async def _keep(self, session: AgiSession, place: HeldPlace) -> None:
        """Hold on as the route did before the restart (its music class, what is left of its
        max_wait); once max_wait passed and the router gave the call back, the flow goes on
        from the route node (its overflow)."""
        route = Route(place.requirements, place.context, place.hold, place.max_wait_s,
                      offer_prompts=self._resolver.resolve_all(OFFER_PROMPTS, place.requirements.language))
        try:
            await self._holding.keep(session, route, place.node, place.queued_at)
        except Stop as stop:  # an agent took the call, or the caller left
            session.ended = stop.reason
            return
        await self._conductor.after_hold(session, place)

    async def _run(self, session: AgiSession, serve: Callable[[AgiSession], Awaitable[None]]) -> None:
        structlog.contextvars.bind_contextvars(call_id=session.call_id)
        try:
            await serve(session)
        except asyncio.CancelledError:
            session.ended = "cancelled"
            raise
        except Exception:
            self._caught("ivr_runner_failed")
            session.ended = "runner_error"
            log.exception("ivr_runner_failed", channel=session.start.channel)
        finally:
            ended = session.ended or "unknown"
            self.finished[ended] = self.finished.get(ended, 0) + 1
            if self._sessions.get(session.start.channel) is session:
                del self._sessions[session.start.channel]
            session.sensitive = False
            log.info("ivr_call_done", kind=session.kind, ended=session.ended)
            structlog.contextvars.unbind_contextvars("call_id")
