"""The AsyncAGI runner: carries out the interpreter's effects, one asyncio task per call.

Feed it every AMI event (:meth:`IvrRunner.on_event`, e.g. ``AmiClient.subscribe``). On
``AsyncAGIStart`` in an inbound context it starts the inbound flow; in the survey context the
survey flow (for a call that was answered); in the fallback context (the dialplan's safety net
after an AGI failure) a plain route to the fallback skill. Each task binds the call id (the
Linkedid) into the log context and records every step through the :class:`~ivr.sinks.IvrRecorder`.

Asterisk facts this relies on (``shared/asterisk-lab``):

- A command that fails (missing prompt) or is cut by a hang-up answers ``result=-1`` and AGI
  ends: the dialplan goes on after ``AGI(agi:async)``, into its safety net. The runner stops.
- A channel pulled out of AGI by the router's Bridge gets no ``AsyncAGIExec`` for the running
  ``MusicOnHold`` and no ``AsyncAGIEnd``: the runner ends the hold on ``BridgeEnter``, on a new
  ``AsyncAGIStart`` for the channel (the survey) or on ``Hangup``, as a normal end.
- Any other failure (an AGI error such as ``510``, a timeout, a sink or provider exception, a
  bug) becomes ``Failed`` for the interpreter, which routes the call to its fallback.

The runner keeps ``CC_IVR`` on the channel up to date (``active``, ``routed``, ``failed``), so
the dialplan can tell a call the router took from one whose IVR broke.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from callcenter.ami.agi import AgiResult
from callcenter.ami.errors import AgiChannelGone, AmiError, AmiLinkLost, AmiNotConnected
from callcenter.ami.messages import AmiEvent
from callcenter.logsetup import bind_call, unbind_call
from callcenter.orders.provider import OrderContextProvider
from callcenter.orders.tickets import CallbackRequest
from ivr import commands as cmd
from ivr import interpreter
from ivr.effects import (
    CallbackDone,
    CallInfo,
    CreateCallback,
    DigitsEntered,
    Event,
    Failed,
    GetDigits,
    Hangup,
    HoldEnded,
    Lookup,
    LookupDone,
    PathEntry,
    Played,
    PlayPrompts,
    Record,
    Recorded,
    Route,
    Say,
    Transfer,
    TransferDone,
)
from ivr.errors import UnknownFlow
from ivr.interpreter import InterpreterConfig, IvrState, ReturnToDialplan, Step
from ivr.lookup import customer_values, order_context_values
from ivr.model import Flow, Scalar
from ivr.sinks import AgiLink, CallbackSink, IvrRecorder, Redirector, RouteSink
from ivr.sounds import PROJECT_SOUNDS, PromptResolver, SoundIndex

log = structlog.get_logger("ivr.runner")

# When no flow can be loaded at all, the safe route still needs languages to route by.
_NO_FLOW = Flow(id="builtin-fallback", version=1, default_language="en", languages=("en", "zh"),
                entry="", nodes={})


class FlowSource(Protocol):
    def get(self, flow_id: str) -> Flow: ...


MAX_REMEMBERED_STEPS = 30


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """Dialplan names and limits. Contexts must match ``asterisk-conf/extensions.conf``."""

    inbound_flow: str = "aftersales"
    survey_flow: str = "survey"
    flows_by_extension: Mapping[str, str] = field(default_factory=dict)
    inbound_contexts: frozenset[str] = frozenset({"inbound"})
    survey_contexts: frozenset[str] = frozenset({"survey"})
    fallback_contexts: frozenset[str] = frozenset({"ivr-fallback"})
    fallback_skill: str = "general"
    command_timeout_s: float = 60.0
    hold_timeout_s: float = 4 * 3600.0
    lookup_timeout_s: float = 3.0
    sink_timeout_s: float = 5.0
    record_dir: str = "/var/spool/asterisk/ivr-messages"
    record_format: str = "wav"
    state_variable: str = "CC_IVR"
    max_digits: int = 64
    max_failures: int = 4
    remember_calls: int = 10_000
    # AMI link lost under a command: wait this long for it to come back, then send the command
    # again (the channel still waits in AsyncAGI); at most link_retries times per command
    link_wait_s: float = 30.0
    link_retries: int = 3


@dataclass(frozen=True, slots=True)
class CallStart:
    """An ``AsyncAGIStart``: which channel entered AGI, where, and who is calling."""

    channel: str
    linkedid: str
    uniqueid: str
    context: str
    extension: str = ""
    caller_number: str = ""
    caller_name: str = ""
    answered: bool = False

    @classmethod
    def from_event(cls, event: AmiEvent) -> CallStart:
        env = cmd.parse_env(event.get("Env"))

        def clean(value: str) -> str:
            return "" if value in ("", "unknown", "<unknown>", "anonymous") else value

        return cls(channel=event.channel, linkedid=event.linkedid or event.uniqueid,
                   uniqueid=event.uniqueid, context=event.get("Context") or env.get("agi_context", ""),
                   extension=event.get("Exten") or env.get("agi_extension", ""),
                   caller_number=clean(event.get("CallerIDNum") or env.get("agi_callerid", "")),
                   caller_name=clean(event.get("CallerIDName") or env.get("agi_calleridname", "")),
                   answered=event.get("ChannelState") == "6")


class _Stop(Exception):
    """The call's IVR is over; ``reason`` is recorded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _AgiEnded(_Stop):
    """A command answered ``result=-1``: AGI has ended (hang-up or failure)."""


class _AgiError(Exception):
    """A command answered something other than ``200`` (the AGI itself goes on)."""


@dataclass(slots=True)
class _Session:
    start: CallStart
    kind: str
    left: asyncio.Future[str]
    task: asyncio.Task[None] | None = None
    sensitive: bool = False
    recordings: int = 0
    last_context: Mapping[str, Scalar] | None = None
    ended: str = ""
    # set by AGIExecStart of the hold music: the command left AsyncAGI's queue and is playing
    hold_started: asyncio.Event = field(default_factory=asyncio.Event)


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
        settings: dialplan names and limits.
        resolver: per-language prompt names (default: the project's sound folder).
        clock: timezone-aware now (injectable: business hours in tests).
        answered: whether a call was answered by an agent (the survey runs only then).
    """

    def __init__(self, link: AgiLink, flows: FlowSource, recorder: IvrRecorder, router: RouteSink,
                 orders: OrderContextProvider, callbacks: CallbackSink, *,
                 redirector: Redirector | None = None, settings: RunnerSettings | None = None,
                 resolver: PromptResolver | None = None, clock: Callable[[], datetime] = _utcnow,
                 answered: Callable[[str], bool] | None = None) -> None:
        self._link = link
        self._flows = flows
        self._recorder = recorder
        self._router = router
        self._orders = orders
        self._callbacks = callbacks
        self._redirector = redirector
        self.settings = settings or RunnerSettings()
        resolver = resolver or PromptResolver(SoundIndex.scan([PROJECT_SOUNDS]))
        self._config = InterpreterConfig(resolver=resolver, fallback_skill=self.settings.fallback_skill,
                                         max_digits=self.settings.max_digits)
        self._clock = clock
        self._answered = answered
        self._sessions: dict[str, _Session] = {}
        self._memory: OrderedDict[str, tuple[str, dict[str, Scalar]]] = OrderedDict()
        self._calls_of_channel: dict[str, str] = {}
        self.started = 0
        self.finished: dict[str, int] = {}
        self._sensitive_listeners: list[Callable[[str, bool], None]] = []
        self._steps: dict[str, list[dict[str, Any]]] = {}

    # --- AMI events ----------------------------------------------------------------------

    def on_event(self, event: AmiEvent) -> None:
        """Handle one AMI event (synchronously; never raises)."""
        try:
            name = event.name
            if name == "AsyncAGIStart":
                self._agi_start(event)
            elif name == "AGIExecStart":
                session = self._sessions.get(event.channel)
                command = (event.get("Command") or "").upper()
                if session is not None and command.startswith("EXEC MUSICONHOLD"):
                    session.hold_started.set()
            elif name in ("BridgeEnter", "AsyncAGIEnd", "Hangup"):
                session = self._sessions.get(event.channel)
                if session is not None:
                    self._leave(session, {"BridgeEnter": "bridged", "AsyncAGIEnd": "agi_ended",
                                          "Hangup": "hangup"}[name])
                if name == "Hangup":
                    self._forget_channel(event.channel)
        except Exception:
            log.exception("ivr_event_failed", ami_event=event.name)

    def _agi_start(self, event: AmiEvent) -> None:
        start = CallStart.from_event(event)
        kind = self._kind(start.context)
        if kind is not None:
            self.start_call(start, kind)

    def adopt(self, channels: Iterable[AmiEvent], may_start: Callable[[CallStart, str], bool]
              ) -> list[str]:
        """After a reconnect or a restart: start the flow for every channel Asterisk reports in
        AsyncAGI (``CoreShowChannel`` items) that no session here serves, in an IVR or survey
        context, when ``may_start(start, kind)`` agrees (a caller on hold also runs AGI: the
        caller's place in the queue decides). Their ``AsyncAGIStart`` was lost with the link;
        they would wait in silence forever. Returns the channels started."""
        started: list[str] = []
        for item in channels:
            if item.get("Application") != "AGI":
                continue
            channel = item.get("Channel")
            if not channel or channel in self._sessions:
                continue
            start = CallStart(channel=channel, linkedid=item.get("Linkedid") or item.get("Uniqueid"),
                              uniqueid=item.get("Uniqueid"), context=item.get("Context"),
                              extension=item.get("Extension") or item.get("Exten"),
                              caller_number=item.get("CallerIDNum"), caller_name=item.get("CallerIDName"),
                              answered=item.get("ChannelState") == "6")
            kind = self._kind(start.context)
            if kind is None or not may_start(start, kind):
                continue
            log.info("ivr_call_adopted", call_id=start.linkedid, channel=channel, kind=kind)
            self.start_call(start, kind)
            started.append(channel)
        return started

    def _kind(self, context: str) -> str | None:
        settings = self.settings
        if context in settings.inbound_contexts:
            return "inbound"
        if context in settings.survey_contexts:
            return "survey"
        if context in settings.fallback_contexts:
            return "fallback"
        return None

    def start_call(self, start: CallStart, kind: str = "inbound") -> asyncio.Task[None]:
        """Start the flow for a channel that entered AGI (a previous run on it is ended)."""
        previous = self._sessions.get(start.channel)
        if previous is not None:
            self._leave(previous, "new_agi")
        loop = asyncio.get_running_loop()
        session = _Session(start, kind, loop.create_future())
        self._sessions[start.channel] = session
        self._calls_of_channel.pop(start.channel, None)
        self._calls_of_channel[start.channel] = start.linkedid
        while len(self._calls_of_channel) > 2 * self.settings.remember_calls:
            del self._calls_of_channel[next(iter(self._calls_of_channel))]
        session.task = loop.create_task(self._run(session), name=f"ivr {start.linkedid}")
        self.started += 1
        return session.task

    def _leave(self, session: _Session, why: str) -> None:
        if not session.left.done():
            session.left.set_result(why)

    def _forget_channel(self, channel: str) -> None:
        linkedid = self._calls_of_channel.pop(channel, None)
        if linkedid is not None and linkedid not in self._calls_of_channel.values():
            self._memory.pop(linkedid, None)

    # --- public helpers ------------------------------------------------------------------

    def sensitive_input_active(self, channel: str) -> bool:
        """True while the caller on ``channel`` keys a sensitive value: whoever logs DTMF or AGI
        results (the event log, ``calls.digits``) must mask them now."""
        session = self._sessions.get(channel)
        return session is not None and session.sensitive

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
                "remembered": len(self._memory)}

    # --- one call ------------------------------------------------------------------------

    async def _run(self, session: _Session) -> None:
        bind_call(session.start.linkedid)
        try:
            await self._serve(session)
        except asyncio.CancelledError:
            session.ended = "cancelled"
            raise
        except Exception:
            session.ended = "runner_error"
            log.exception("ivr_runner_failed", channel=session.start.channel)
        finally:
            self.finished[session.ended or "unknown"] = self.finished.get(session.ended or "unknown", 0) + 1
            if self._sessions.get(session.start.channel) is session:
                del self._sessions[session.start.channel]
            session.sensitive = False
            log.info("ivr_call_done", kind=session.kind, ended=session.ended)
            unbind_call()

    def _now(self) -> datetime:
        return self._clock()

    def _call_info(self, start: CallStart) -> CallInfo:
        return CallInfo(call_id=start.linkedid, channel=start.channel, caller_number=start.caller_number,
                        caller_name=start.caller_name, extension=start.extension)

    def _first_step(self, session: _Session) -> Step:
        start = session.start
        remembered = self._memory.get(start.linkedid)
        language, context = remembered if remembered else (None, None)
        call = self._call_info(start)
        if session.kind == "fallback":
            inbound = self._flow_or_none(self.settings.inbound_flow) or _NO_FLOW
            return interpreter.start_fallback(inbound, call, self._config, self._now(),
                                              "the dialplan's safety net (AGI ended)",
                                              language=language, context=context)
        flow_id = self.settings.survey_flow if session.kind == "survey" else \
            self.settings.flows_by_extension.get(start.extension, self.settings.inbound_flow)
        flow = self._flow_or_none(flow_id)
        if flow is None and session.kind == "survey":
            state = interpreter.start_fallback(_NO_FLOW, call, self._config, self._now(), "no survey").state
            return Step(state, ReturnToDialplan(f"flow {flow_id!r} is not loaded"))
        if flow is None:
            return interpreter.start_fallback(_NO_FLOW, call, self._config, self._now(),
                                              f"flow {flow_id!r} is not loaded", language=language,
                                              context=context)
        return interpreter.start(flow, call, self._config, self._now(), language=language,
                                 context=context if session.kind == "survey" else None)

    def _flow_or_none(self, flow_id: str) -> Flow | None:
        try:
            return self._flows.get(flow_id)
        except UnknownFlow:
            log.error("ivr_flow_missing", flow=flow_id)
            return None

    async def _serve(self, session: _Session) -> None:
        start = session.start
        log.info("ivr_call_started", kind=session.kind, channel=start.channel, context=start.context,
                 extension=start.extension)
        try:
            if session.kind == "survey" and self._answered is not None \
                    and not self._answered(start.linkedid):
                await self._record(session, [PathEntry(self._now(), "", "end",
                                                       {"reason": "survey skipped: not answered"})])
                await self._agi(session, cmd.asyncagi_break())
                session.ended = "survey_skipped"
                return
            if not start.answered and session.kind != "survey":
                self._check(await self._agi(session, cmd.answer()))
            await self._set_state(session, "active")
        except _Stop as stop:
            await self._finish(session, stop.reason, None)
            return
        except (AgiChannelGone, AmiError, _AgiError) as exc:
            await self._finish(session, f"agi_unavailable: {type(exc).__name__}", None)
            return
        try:
            step = self._first_step(session)
        except Exception:
            log.exception("ivr_start_failed")
            step = interpreter.start_fallback(_NO_FLOW, self._call_info(start), self._config,
                                              self._now(), "server error at start")
        await self._loop(session, step)

    async def _loop(self, session: _Session, step: Step) -> None:
        failures = 0
        while True:
            await self._note(session, step)
            try:
                event = await self._perform(session, step)
                failures = 0
            except _Stop as stop:
                await self._finish(session, stop.reason, step.state)
                return
            except AgiChannelGone:
                await self._finish(session, "caller_gone", step.state)
                return
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"[:200]
                log.warning("ivr_effect_failed", effect=type(step.effect).__name__, error=reason)
                failures += 1
                if failures > self.settings.max_failures:
                    # Nothing works (the AMI link is down?): stop trying; the channel is in
                    # Asterisk's hands and the dialplan's safety net.
                    await self._finish(session, f"gave_up: {reason}", step.state)
                    return
                event = Failed(reason)
            try:
                step = interpreter.advance(step.state, event, self._now())
            except Exception:
                log.exception("ivr_interpreter_failed", effect=type(step.effect).__name__)
                step = interpreter.start_fallback(step.state.flow, step.state.call, self._config,
                                                  self._now(), "server error",
                                                  language=step.state.language,
                                                  context=step.state.context)

    async def _finish(self, session: _Session, reason: str, state: IvrState | None) -> None:
        session.ended = reason
        await self._record(session, [PathEntry(self._now(), state.node if state else "", "end",
                                               {"reason": reason})])

    # --- recording -----------------------------------------------------------------------

    async def _note(self, session: _Session, step: Step) -> None:
        state = step.state
        call_id = session.start.linkedid
        public: dict[str, Scalar] = {**state.context, "language": state.language}
        self._memory[call_id] = (state.language, public)
        self._memory.move_to_end(call_id)
        while len(self._memory) > self.settings.remember_calls:
            self._memory.popitem(last=False)
        if step.path:
            steps = self._steps.setdefault(call_id, [])
            steps.extend({"node": e.node, "kind": e.kind, **_loggable(e.data)} for e in step.path
                         if e.kind in ("input", "route", "lookup_result", "callback", "fallback"))
            del steps[:-MAX_REMEMBERED_STEPS]
            while len(self._steps) > self.settings.remember_calls:
                self._steps.pop(next(iter(self._steps)))
            await self._record(session, step.path)
            for entry in step.path:
                if entry.kind in ("input", "fallback", "error", "route", "lookup_result", "callback"):
                    log.info("ivr_" + entry.kind, node=entry.node, **_loggable(entry.data))
        if session.last_context is None or public != session.last_context:
            changed = {k: v for k, v in public.items()
                       if session.last_context is None or session.last_context.get(k) != v}
            session.last_context = public
            await self._sink("update_context", self._recorder.update_context(call_id, changed))

    async def _record(self, session: _Session, entries: Any) -> None:
        rows = [entry.to_json() for entry in entries]
        await self._sink("append_path", self._recorder.append_path(session.start.linkedid, rows))

    async def _sink(self, what: str, call: Any) -> None:
        try:
            await asyncio.wait_for(call, self.settings.sink_timeout_s)
        except Exception as exc:
            log.warning("ivr_recorder_failed", what=what, error=f"{type(exc).__name__}: {exc}"[:200])

    # --- AGI -----------------------------------------------------------------------------

    async def _agi(self, session: _Session, command: str, timeout: float | None = None) -> AgiResult:
        """One AGI command, abandoned as soon as the channel leaves AGI (bridge, hangup).

        When the AMI link drops under it (or is down), the command is sent again once the link is
        back: Asterisk keeps the channel in AsyncAGI, waiting for commands, so the caller hears
        the prompt again instead of silence until they hang up."""
        for attempt in range(self.settings.link_retries + 1):
            try:
                return await self._agi_once(session, command, timeout)
            except (AmiLinkLost, AmiNotConnected):
                if attempt == self.settings.link_retries or not await self._link_back(session):
                    raise
                log.info("ivr_agi_resent", channel=session.start.channel, attempt=attempt + 1)
        raise AssertionError("unreachable")

    async def _link_back(self, session: _Session) -> bool:
        """Wait for the AMI link to be up again (False: it did not come back, or the caller left)."""
        wait_connected = getattr(self._link, "wait_connected", None)
        if wait_connected is None:
            return False
        up = asyncio.ensure_future(wait_connected(self.settings.link_wait_s))
        done, _ = await asyncio.wait({up, session.left}, return_when=asyncio.FIRST_COMPLETED)
        if up not in done:
            up.cancel()
            up.add_done_callback(_consume)
            return False
        return up.exception() is None

    async def _agi_once(self, session: _Session, command: str, timeout: float | None) -> AgiResult:
        if session.left.done():
            raise _Stop(session.left.result())
        wait = timeout if timeout is not None else self.settings.command_timeout_s
        call = asyncio.ensure_future(self._link.agi(session.start.channel, command, wait))
        waits: set[asyncio.Future[Any]] = {call, session.left}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the runner is closing: nobody will read the result
            call.cancel()
            call.add_done_callback(_consume)
            raise
        if call in done:
            return call.result()
        call.cancel()
        call.add_done_callback(_consume)
        raise _Stop(session.left.result())

    @staticmethod
    def _check(result: AgiResult) -> AgiResult:
        if result.code != 200:
            raise _AgiError(f"AGI answered {result.code}: {result.raw[:80]}")
        if result.result is not None and result.result < 0:
            raise _AgiEnded("agi_ended" if result.data != "hangup" else "caller_gone")
        return result

    async def _set_state(self, session: _Session, value: str) -> None:
        """Tell the dialplan where the IVR stands; a refused SET VARIABLE must not stop the call."""
        try:
            self._check(await self._agi(session, cmd.set_variable(self.settings.state_variable, value)))
        except _AgiError as exc:
            log.warning("ivr_state_not_set", value=value, error=str(exc))

    # --- effects -------------------------------------------------------------------------

    async def _perform(self, session: _Session, step: Step) -> Event:
        effect = step.effect
        if isinstance(effect, PlayPrompts | Say):
            for prompt in effect.prompts:
                self._check(await self._agi(session, cmd.stream_file(prompt)))
            return Played()
        if isinstance(effect, GetDigits):
            return await self._get_digits(session, effect)
        if isinstance(effect, Lookup):
            return await self._lookup(effect)
        if isinstance(effect, Route) and effect.fallback and session.kind == "survey":
            effect = ReturnToDialplan("survey failed")  # the call is over: never queue it again
        if isinstance(effect, Route):
            return await self._route(session, effect, step.state.node)
        if isinstance(effect, CreateCallback):
            return await self._callback(session, effect)
        if isinstance(effect, Record):
            return await self._recording(session, effect)
        if isinstance(effect, Transfer):
            return await self._transfer(session, effect)
        if isinstance(effect, Hangup):
            await self._agi(session, cmd.hangup())
            raise _Stop("hangup")
        if isinstance(effect, ReturnToDialplan):
            with contextlib.suppress(AmiError):
                await self._set_state(session, "failed")
            await self._agi(session, cmd.asyncagi_break())
            raise _Stop(f"returned to dialplan: {effect.reason}")
        raise TypeError(f"unknown effect {effect!r}")

    def summary(self, call_id: str) -> dict[str, Any]:
        """What the caller did in the IVR, for the agent's screen: language, the public context
        (entered order number, chosen topic...; sensitive values are never in it) and the
        steps that mattered (choices, lookups, the route)."""
        remembered = self._memory.get(call_id)
        return {"language": remembered[0] if remembered else "",
                "context": dict(remembered[1]) if remembered else {},
                "steps": list(self._steps.get(call_id, []))}

    def add_sensitive_listener(self, listener: Callable[[str, bool], None]) -> None:
        """``listener(call_id, active)`` when a caller starts and stops keying a sensitive value
        (the recording is paused meanwhile). It must not block; errors are logged."""
        self._sensitive_listeners.append(listener)

    def _tell_sensitive(self, session: _Session, active: bool) -> None:
        for listener in self._sensitive_listeners:
            try:
                listener(session.start.linkedid, active)
            except Exception:
                log.exception("ivr_sensitive_listener_failed")

    async def _get_digits(self, session: _Session, effect: GetDigits) -> Event:
        prompts = effect.prompts or ("silence/1",)
        session.sensitive = effect.sensitive
        if effect.sensitive:
            self._tell_sensitive(session, True)
        try:
            for prompt in prompts[:-1]:
                result = self._check(await self._agi(session, cmd.stream_file(prompt, effect.interrupt)))
                digit = cmd.interrupted_by(result)
                if effect.interrupt and digit:
                    return DigitsEntered(digit)
            timeout_ms = int(effect.timeout_s * 1000)
            budget = self.settings.command_timeout_s + effect.timeout_s * (effect.max_digits + 1)
            result = self._check(await self._agi(
                session, cmd.get_data(prompts[-1], timeout_ms, effect.max_digits), budget))
            return DigitsEntered(cmd.get_data_digits(result), timed_out=result.timed_out)
        finally:
            session.sensitive = False
            if effect.sensitive:
                self._tell_sensitive(session, False)

    async def _lookup(self, effect: Lookup) -> Event:
        try:
            if effect.kind == "customer":
                found_customer = await asyncio.wait_for(self._orders.customer_by_phone(effect.key),
                                                        self.settings.lookup_timeout_s)
                return LookupDone(customer_values(found_customer) if found_customer else None)
            found_order = await asyncio.wait_for(self._orders.order_by_number(effect.key),
                                                 self.settings.lookup_timeout_s)
            return LookupDone(order_context_values(found_order) if found_order else None)
        except Exception as exc:
            log.warning("ivr_lookup_failed", kind=effect.kind, error=f"{type(exc).__name__}: {exc}"[:200])
            return LookupDone(None, failed=True)

    async def _route(self, session: _Session, effect: Route, node: str) -> Event:
        call_id = session.start.linkedid
        # "routed" goes out before the router may offer the call: an offer answered at once
        # bridges the caller out of AsyncAGI, and a SET VARIABLE queued behind that is never
        # run (real Asterisk), so the caller would come back from the agent to [ivr-fallback]
        # and be routed a second time.
        await self._set_state(session, "routed")
        # The same holds for the hold music: a MusicOnHold still queued when the Bridge pulls the
        # caller out of AGI runs the next time the channel enters AGI (the post-call survey),
        # which would then play music instead of the survey. So the call is handed to the router
        # only once Asterisk has started the hold (AGIExecStart).
        max_wait = effect.max_wait_s
        hold = self._hold(session, effect.hold, max_wait)
        await self._wait_hold_started(session, hold)
        try:
            await asyncio.wait_for(self._router.enqueue(call_id, session.start.channel,
                                                        effect.requirements, effect.context),
                                   self.settings.sink_timeout_s)
        except Exception:
            # the hold music plays on to its limit: the commands that follow queue behind it
            hold.add_done_callback(_consume)
            await self._set_state(session, "active")
            raise
        await self._record(session, [PathEntry(self._now(), node, "queued",
                                               effect.requirements.to_json())])
        while True:
            self._check(await hold)
            if not max_wait:
                raise _AgiError("hold music ended on its own (is the music-on-hold class configured?)")
            if await asyncio.wait_for(self._router.withdraw(call_id), self.settings.sink_timeout_s):
                await self._set_state(session, "active")
                return HoldEnded()
            max_wait = None  # an agent is being offered the call: keep holding
            hold = self._hold(session, effect.hold, max_wait)

    def _hold(self, session: _Session, music: str, max_wait: int | None) -> asyncio.Future[AgiResult]:
        """Start the hold music (``max_wait`` seconds, or until the router takes the call)."""
        session.hold_started.clear()
        if max_wait:
            command = cmd.exec_app("MusicOnHold", f"{music},{max_wait}")
            wait = max_wait + self.settings.command_timeout_s
        else:
            command = cmd.exec_app("MusicOnHold", music)
            wait = self.settings.hold_timeout_s
        return asyncio.ensure_future(self._agi(session, command, wait))

    async def _wait_hold_started(self, session: _Session, hold: asyncio.Future[AgiResult]) -> None:
        """Until Asterisk runs the hold command, the command fails or the caller leaves; at most
        ``command_timeout_s`` (a PBX that sends no AGIExecStart still gets its call routed)."""
        started: asyncio.Future[Any] = asyncio.ensure_future(session.hold_started.wait())
        waits: set[asyncio.Future[Any]] = {started, hold}
        try:
            await asyncio.wait(waits, timeout=self.settings.command_timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()
            started.add_done_callback(_consume)
        if not session.hold_started.is_set() and not hold.done():
            log.warning("ivr_hold_start_unseen", channel=session.start.channel)

    async def _callback(self, session: _Session, effect: CreateCallback) -> Event:
        request = CallbackRequest(call_id=session.start.linkedid, number=effect.number,
                                  reason=effect.reason, language=effect.language,
                                  customer_id=effect.customer_id, order_number=effect.order_number,
                                  voicemail=effect.voicemail, caller_name=session.start.caller_name)
        try:
            ticket = await asyncio.wait_for(self._callbacks.create_callback(request),
                                            self.settings.sink_timeout_s)
        except Exception as exc:
            log.warning("ivr_callback_failed", error=f"{type(exc).__name__}: {exc}"[:200])
            return CallbackDone(None)
        log.info("ivr_callback_created", ticket_id=ticket)
        return CallbackDone(ticket)

    async def _recording(self, session: _Session, effect: Record) -> Event:
        session.recordings += 1
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in session.start.linkedid)
        path = f"{self.settings.record_dir}/{safe}-{effect.name}-{session.recordings}"
        command = cmd.record_file(path, self.settings.record_format, effect.escape_digits,
                                  effect.max_seconds * 1000, effect.beep, effect.silence_seconds)
        result = await self._agi(session, command, effect.max_seconds + self.settings.command_timeout_s)
        if result.code == 200 and result.result is not None and result.result < 0:
            if result.data == "hangup" and (result.endpos or 0) > 0:
                # The caller hung up to end the message (as the prompt invites): keep it.
                return Recorded(f"{path}.{self.settings.record_format}", "caller hung up")
            raise _AgiEnded(f"recording failed ({result.data or 'error'})")
        self._check(result)
        return Recorded(f"{path}.{self.settings.record_format}")

    async def _transfer(self, session: _Session, effect: Transfer) -> Event:
        if effect.dial:
            self._check(await self._agi(session, cmd.exec_app("Dial", f"{effect.dial},{effect.timeout_s}"),
                                        effect.timeout_s + self.settings.hold_timeout_s))
            status = self._check(await self._agi(session, cmd.get_variable("DIALSTATUS")))
            return TransferDone(status.data)
        if self._redirector is None:
            raise _AgiError("transfer to an extension needs a redirector (AMI Redirect)")
        assert effect.context is not None and effect.exten is not None
        await self._set_state(session, "transferred")
        await asyncio.wait_for(self._redirector.redirect(session.start.channel, effect.context,
                                                         effect.exten, effect.priority),
                               self.settings.sink_timeout_s)
        raise _Stop(f"redirected to {effect.exten}@{effect.context}")


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _loggable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k if k not in ("event", "level", "timestamp") else f"ivr_{k}": v for k, v in data.items()}
