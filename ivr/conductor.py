"""One call's IVR run: answer, pick the flow, then step by step the interpreter decides, the
:class:`~ivr.perform.Performer` carries the effect out, and the :class:`~ivr.journal.IvrJournal`
records the path, until the call leaves AGI or the flow ends.

An inbound call runs the flow of its extension (``ivr.flows_by_extension``, else
``ivr.inbound_flow``); the survey its flow, with what the inbound run learned (language,
context), and only for a call an agent answered; the fallback context a plain route to
``ivr.fallback_skill``. Any failure of an effect (an AGI error such as ``510``, a timeout, a sink
or provider exception, a bug) becomes ``Failed`` for the interpreter, which routes the call to
its fallback; after ``ivr.max_failures`` in a row the call is left to the dialplan's safety net.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import structlog

from callcenter.ami.errors import AgiChannelGone, AmiError
from callcenter.settings import IvrSettings
from ivr import commands as cmd
from ivr import interpreter
from ivr.agi_session import AgiError, AgiSession, CallStart, Stop
from ivr.effects import CallInfo, Event, Failed, HeldPlace, HoldEnded, PathEntry, Route
from ivr.errors import UnknownFlow
from ivr.faults import Caught, describe, uncounted
from ivr.journal import IvrJournal
from ivr.model import Flow
from ivr.perform import Performer
from ivr.steps import InterpreterConfig, IvrState, ReturnToDialplan, Step
from ivr.transfer import Transfers, last_route, transfer_step

log = structlog.get_logger("ivr.conductor")

# When no flow can be loaded at all, the safe route still needs languages to route by.
_NO_FLOW = Flow(id="builtin-fallback", version=1, default_language="en", languages=("en", "zh"),
                entry="", nodes={})


class FlowSource(Protocol):
    def get(self, flow_id: str) -> Flow: ...


def call_info(start: CallStart) -> CallInfo:
    return CallInfo(call_id=start.linkedid, channel=start.channel, caller_number=start.caller_number,
                    caller_name=start.caller_name, extension=start.extension)


class Conductor:
    """Args:
        flows: current flows by id (:class:`~ivr.registry.FlowRegistry`).
        journal: the calls' IVR paths and contexts.
        performer: carries out the effects.
        settings: flow names and the failure limit.
        config: what the interpreter needs besides the flow.
        clock: timezone-aware now (business hours in tests).
        answered: whether a call was answered by an agent (the survey runs only then).
        transfers: the ticket of a caller an agent transferred to a skill.
    """

    def __init__(self, flows: FlowSource, journal: IvrJournal, performer: Performer,
                 settings: IvrSettings, config: InterpreterConfig, clock: Callable[[], datetime],
                 answered: Callable[[str], bool] | None = None,
                 transfers: Transfers | None = None, caught: Caught = uncounted) -> None:
        self._caught = caught
        self._transfers = transfers
        self._flows = flows
        self._journal = journal
        self._performer = performer
        self._settings = settings
        self._config = config
        self._clock = clock
        self._answered = answered

    async def serve(self, session: AgiSession) -> None:
        """Run the call's IVR to its end (``session.ended`` says why it ended)."""
        start = session.start
        log.info("ivr_call_started", kind=session.kind, channel=start.channel, context=start.context,
                 extension=start.extension)
        try:
            if not await self._open(session):
                return
        except Stop as stop:
            await self._finish(session, stop.reason, None)
            return
        except (AgiChannelGone, AmiError, AgiError) as exc:
            await self._finish(session, f"agi_unavailable: {type(exc).__name__}", None)
            return
        try:
            step = self._first_step(session)
        except Exception:
            self._caught("ivr_start_failed")
            log.exception("ivr_start_failed")
            step = interpreter.start_fallback(_NO_FLOW, call_info(start), self._config,
                                              self._clock(), "server error at start")
        await self._loop(session, step)

    async def after_hold(self, session: AgiSession, place: HeldPlace) -> None:
        """A hold restored after a restart reached the route's ``max_wait`` and the router gave
        the call back: the flow goes on from the route node the call was queued at (its
        overflow, or the route again), as when this process had held the caller all along."""
        start, requirements = session.start, place.requirements
        flow_id = self._settings.flows_by_extension.get(start.extension, self._settings.inbound_flow)
        language = requirements.language
        state = IvrState(flow=self._flow_or_none(flow_id) or _NO_FLOW, call=call_info(start),
                         config=self._config, language=language, node=place.node, stage="hold",
                         context={**place.context, "language": language}, skill=requirements.skill,
                         priority=requirements.priority, tags=requirements.tags)
        held = Step(state, Route(requirements, place.context, place.hold, place.max_wait_s))
        await self._loop(session, self._advance(held, HoldEnded()))

    async def _open(self, session: AgiSession) -> bool:
        """Answer and mark the channel ``active``; False when the survey is skipped."""
        start = session.start
        if session.kind == "survey" and self._answered is not None and not self._answered(start.linkedid):
            await self._journal.record(session.call_id, [PathEntry(
                self._clock(), "", "end", {"reason": "survey skipped: not answered"})])
            await session.send(cmd.asyncagi_break())
            session.ended = "survey_skipped"
            return False
        if not start.answered and session.kind != "survey":
            await session.run(cmd.answer())
        await session.set_state("active")
        return True

    def _first_step(self, session: AgiSession) -> Step:
        start, kind, now = session.start, session.kind, self._clock()
        language, context = self._journal.remembered(start.linkedid)
        call = call_info(start)
        ticket = self._transfers(start.linkedid) if kind == "transfer" and self._transfers else None
        if ticket is not None:
            inbound = self._flow_or_none(self._settings.inbound_flow) or _NO_FLOW
            route = last_route(self._journal.summary(start.linkedid)["steps"])
            return transfer_step(inbound, call, self._config, now, ticket, (language, context),
                                 route)
        if kind in ("fallback", "transfer"):
            inbound = self._flow_or_none(self._settings.inbound_flow) or _NO_FLOW
            return interpreter.start_fallback(inbound, call, self._config, now,
                                              "the dialplan's safety net (AGI ended)",
                                              language=language, context=context)
        flow_id = self._settings.survey_flow if kind == "survey" else \
            self._settings.flows_by_extension.get(start.extension, self._settings.inbound_flow)
        flow = self._flow_or_none(flow_id)
        if flow is None and kind == "survey":
            state = interpreter.start_fallback(_NO_FLOW, call, self._config, now, "no survey").state
            return Step(state, ReturnToDialplan(f"flow {flow_id!r} is not loaded"))
        if flow is None:
            return interpreter.start_fallback(_NO_FLOW, call, self._config, now,
                                              f"flow {flow_id!r} is not loaded", language=language,
                                              context=context)
        return interpreter.start(flow, call, self._config, now, language=language,
                                 context=context if kind == "survey" else None)

    def _flow_or_none(self, flow_id: str) -> Flow | None:
        try:
            return self._flows.get(flow_id)
        except UnknownFlow:
            log.error("ivr_flow_missing", flow=flow_id)
            return None

    async def _loop(self, session: AgiSession, step: Step) -> None:
        failures = 0
        while True:
            session.last_context = await self._journal.note(session.call_id, step, session.last_context)
            try:
                event: Event = await self._performer.perform(session, step, self._route_after(step))
                failures = 0
            except Stop as stop:
                await self._finish(session, stop.reason, step.state)
                return
            except AgiChannelGone:
                await self._finish(session, "caller_gone", step.state)
                return
            except Exception as exc:
                reason = describe(exc)
                self._caught("ivr_effect_failed")
                log.warning("ivr_effect_failed", effect=type(step.effect).__name__, error=reason)
                failures += 1
                if failures > self._settings.max_failures:
                    # Nothing works (the AMI link is down?): stop trying; the channel is in
                    # Asterisk's hands and the dialplan's safety net.
                    await self._finish(session, f"gave_up: {reason}", step.state)
                    return
                event = Failed(reason)
            step = self._advance(step, event)

    def _route_after(self, step: Step) -> Route | None:
        try:
            return interpreter.route_after(step, self._clock())
        except Exception:
            self._caught("ivr_interpreter_failed")
            log.exception("ivr_interpreter_failed", effect=type(step.effect).__name__)
            return None

    def _advance(self, step: Step, event: Event) -> Step:
        try:
            return interpreter.advance(step.state, event, self._clock())
        except Exception:
            self._caught("ivr_interpreter_failed")
            log.exception("ivr_interpreter_failed", effect=type(step.effect).__name__)
            state = step.state
            return interpreter.start_fallback(state.flow, state.call, self._config, self._clock(),
                                              "server error", language=state.language,
                                              context=state.context)

    async def _finish(self, session: AgiSession, reason: str, state: IvrState | None) -> None:
        session.ended = reason
        await self._journal.record(session.call_id, [PathEntry(self._clock(), state.node if state else "",
                                                               "end", {"reason": reason})])
