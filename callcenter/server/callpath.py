"""The way of a call through the server, wired in one place.

    AMI event → call dispatcher: tracker → typed call events → recorder (event log, calls)
                                                            → offers (router facts, Originate)
                                                            → console → recording start → metrics
              → phones, IVR runner (AsyncAGI) → routing hand-off → offers (Originate)
              → recording registry (MixMonitor files)

:mod:`callcenter.calls.dispatch` tells the order and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from callcenter.agents.model import AgentState
from callcenter.ami.client import AmiClient
from callcenter.calls.dispatch import CallDispatcher, Stage, live_calls_gauge
from callcenter.calls.ivr_log import IvrLog
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.clock import Clock
from callcenter.console.hub import ConsoleHub
from callcenter.control.consult_service import ConsultDesk
from callcenter.control.external import load_external_numbers
from callcenter.control.service import ControlService
from callcenter.control.targets import agent_target, first_ready
from callcenter.control.transfers import TransferDesk
from callcenter.metrics import Metrics
from callcenter.orders.provider import OrderContextProvider
from callcenter.orders.tickets import CallbackTickets
from callcenter.recording.policy import RecordingPolicy
from callcenter.recording.registry import RecordingRegistry
from callcenter.recording.starter import RecordingStarter
from callcenter.routing import events as ev
from callcenter.routing.agent_service import AgentService
from callcenter.routing.callback_board import CallbackBoard
from callcenter.routing.callback_store import CallbackStore
from callcenter.routing.callbacks import CallbackAdapter
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.handoff import RoutingHandoff
from callcenter.routing.offers import OfferAdapter
from callcenter.settings import Settings
from callcenter.store.db import Database
from callcenter.store.events import EventLogWriter
from ivr.registry import FlowRegistry
from ivr.runner import IvrRunner
from ivr.sinks import AmiRedirector


@dataclass(frozen=True, slots=True)
class CallPath:
    """The parts a call passes through, once wired."""

    tracker: CallTracker
    recorder: CallRecorder
    calls: CallStore
    offers: OfferAdapter
    console: ConsoleHub
    handoff: RoutingHandoff
    ivr: IvrRunner
    dispatcher: CallDispatcher
    callbacks: CallbackAdapter
    control: ControlService


@dataclass(frozen=True, slots=True)
class CallPathInputs:
    """What the call path is built on: the link, routing, storage and the IVR's flows."""

    settings: Settings
    database: Database
    metrics: Metrics
    clock: Clock
    ami: AmiClient
    engine: RoutingEngine
    agents: AgentService
    orders: OrderContextProvider
    flows: FlowRegistry
    ivr_log: IvrLog
    registry: RecordingRegistry


def build_call_path(given: CallPathInputs) -> CallPath:
    """Build the tracker, recorder, offers, console, IVR and recording start, and subscribe them
    to the AMI link. Order matters: the tracker sees each event before routing and the IVR act."""
    pool, ami, engine, settings = given.database.pool, given.ami, given.engine, given.settings
    tracker = CallTracker()
    console = ConsoleHub(given.orders, pool, lambda call_id: ivr.summary(call_id),
                         agent_for_channel=lambda channel: offers.phones.agent_for_channel(channel),
                         clock=given.clock.now, metrics=given.metrics)
    given.agents.add_listener(console.on_agent_state)
    offers = OfferAdapter(engine, ami.post, on_ringing=console.on_ringing,
                          bridge_options="pTF(survey^s^1)" if settings.ivr.post_call_survey else "pT",
                          metrics=given.metrics)
    engine.add_sink(offers.carry_out)
    starter = RecordingStarter(RecordingPolicy(settings.recording.monitor_dir,
                                               settings.recording.enabled), ami.send, tracker.calls.get)
    handoff = RoutingHandoff(offers, engine, pool, tracker.calls.get, clock=given.clock.now,
                             on_queued=lambda key, at: dispatcher.queued(key, at))
    callbacks = _callbacks(given, console, tracker)
    desk = TransferDesk()
    ivr = _ivr_runner(given, tracker, handoff, CallbackBoard(engine, callbacks), desk)
    calls = CallStore(pool, given.metrics)
    recorder = CallRecorder(tracker, EventLogWriter(pool), calls, given.metrics,
                            on_ended_saved=lambda _: given.registry.wake())
    dispatcher = CallDispatcher(tracker, recorder, sensitive=ivr.sensitive_input_active,
                                metrics=given.metrics)
    dispatcher.subscribe(Stage.ROUTING, offers.on_call_event)
    dispatcher.subscribe(Stage.ROUTING, callbacks.on_call_event)
    control = _control(given, tracker, console, desk)
    # control first: a transfer from the softphone names the agent the console forgets on it
    dispatcher.subscribe(Stage.CONSOLE, control.on_call_event)
    dispatcher.subscribe(Stage.CONSOLE, console.on_call_event)
    dispatcher.subscribe(Stage.RECORDING, starter.on_call_event)
    dispatcher.subscribe(Stage.METRICS, live_calls_gauge(tracker, given.metrics))
    for listener in (offers.on_ami_event, callbacks.on_ami_event, ivr.on_event, given.registry.on_ami_event):
        dispatcher.listen(listener)
    ami.subscribe(dispatcher.on_ami_event)
    ami.observe_actions(dispatcher.on_action)
    return CallPath(tracker, recorder, calls, offers, console, handoff, ivr, dispatcher, callbacks,
                    control)


def _control(given: CallPathInputs, tracker: CallTracker, console: ConsoleHub,
             desk: TransferDesk) -> ControlService:
    """The agent's call control: hold, mute, hang-up, blind transfers (to a skill, a ready
    colleague, an allowed outside number) and consult transfers."""
    engine, send = given.engine, given.ami.send
    consults = ConsultDesk(send, lambda agent_id: agent_target(engine, agent_id),
                           lambda skill, besides: first_ready(engine, skill, besides),
                           lambda: engine.policy.skills.keys(), console.publish,
                           console.share_pop, given.clock.now,
                           reserve=lambda agent_id, out: _reserve(engine, agent_id, out),
                           took=lambda call_id, agent_id: engine.submit(
                               ev.CallTakenOver(call_id, agent_id, engine.now())),
                           talked=lambda call_id, agent_id, skill: engine.submit(
                               ev.ConsultTalkEnded(call_id, agent_id, engine.now(), skill)),
                           skill_of=lambda call_id: _skill_of(engine, call_id))
    return ControlService(send, tracker.calls.get, console.agent_talking, console.publish,
                          given.clock.now, desk=desk, skills=lambda: engine.policy.skills.keys(),
                          agents=lambda agent_id: agent_target(engine, agent_id),
                          consults=consults, outside=load_external_numbers(
                              given.settings.config_dir / "external_numbers.yaml"))


def _skill_of(engine: RoutingEngine, call_id: str) -> str:
    """The skill routing gave the call ("" for a call routing does not know)."""
    status = engine.call_status(call_id)
    return status.skill if status is not None else ""


def _reserve(engine: RoutingEngine, agent_id: str, out: bool) -> None:
    """A consult rings or talks to ``agent_id``: routing offers them nothing meanwhile (a
    server pause, ``consult``, as routing's own pauses are); then they are ready again, only
    if still in that pause (not a break they chose meanwhile, nor the call they took over)."""
    now = engine.now()
    if out:
        engine.submit(ev.AgentPaused(agent_id, ev.CONSULT_PAUSE, now))
        return
    if not engine.has_agent(agent_id):
        return
    status = engine.agent_status(agent_id)
    if status.state is AgentState.PAUSED and status.reason == ev.CONSULT_PAUSE:
        engine.submit(ev.AgentReady(agent_id, now))


def _callbacks(given: CallPathInputs, console: ConsoleHub, tracker: CallTracker) -> CallbackAdapter:
    """Callbacks that keep the caller's place: routing's sink, told when the AMI link changes."""
    pool = given.database.pool
    callbacks = CallbackAdapter(given.engine, given.ami.send, CallbackStore(pool, given.clock.now),
                                CallbackTickets(pool), on_ringing=console.on_ringing,
                                call_of=tracker.calls.get, metrics=given.metrics)
    given.engine.add_sink(callbacks.carry_out)
    given.ami.observe_link(callbacks.on_link)
    return callbacks


def _ivr_runner(given: CallPathInputs, tracker: CallTracker, handoff: RoutingHandoff,
                board: CallbackBoard, desk: TransferDesk) -> IvrRunner:
    clock = given.clock

    def answered(linkedid: str) -> bool:
        call = tracker.calls.get(linkedid)
        return call is not None and call.answered_at is not None

    return IvrRunner(given.ami, given.flows, given.ivr_log, handoff, given.orders,
                     CallbackTickets(given.database.pool), redirector=AmiRedirector(given.ami),
                     answered=answered, settings=given.settings.ivr, callback_offers=board,
                     transfers=lambda call_id: desk.take(call_id, clock.now()),
                     clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
                     caught=given.metrics.caught)
