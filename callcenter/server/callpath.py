"""The way of a call through the server, wired in one place.

    AMI event → call tracker + recorder (event log, calls)
              → offers (ring guards, Originate results)
              → IVR runner (AsyncAGI) → routing hand-off → offers (Originate)
              → recording registry (MixMonitor files)

Every change of a call the recorder sees is passed on to recording (MixMonitor), the agent
console and the offers, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from callcenter.agents.service import AgentService
from callcenter.ami.client import AmiClient
from callcenter.calls.handoff import RoutingHandoff
from callcenter.calls.ivr_log import IvrLog
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.clock import Clock
from callcenter.console.hub import ConsoleHub
from callcenter.metrics import Metrics
from callcenter.orders.provider import OrderContextProvider
from callcenter.orders.tickets import CallbackTickets
from callcenter.recording.policy import RecordingPolicy
from callcenter.recording.registry import RecordingRegistry
from callcenter.recording.starter import RecordingStarter
from callcenter.routing.engine import RoutingEngine
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
                         agent_for_channel=lambda channel: offers.agent_for_channel(channel))
    given.agents.add_listener(console.on_agent_state)
    offers = OfferAdapter(engine, ami.send, on_ringing=console.on_ringing,
                          bridge_options="pF(survey^s^1)" if settings.ivr.post_call_survey else "p")
    engine.add_sink(offers.carry_out)
    starter = RecordingStarter(RecordingPolicy(settings.recording.monitor_dir,
                                               settings.recording.enabled), ami.send)

    def on_call_changed(key: str) -> None:
        call = tracker.calls.get(key)
        if call is not None:
            starter.on_call_changed(call)
            console.on_call_changed(call)
            offers.on_call_changed(call)

    handoff = RoutingHandoff(offers, engine, pool, tracker.calls.get, clock=given.clock.now,
                             on_queued=lambda key: recorder.mark_changed({key}))
    ivr = _ivr_runner(given, tracker, handoff)
    calls = CallStore(pool, given.metrics)
    recorder = CallRecorder(tracker, EventLogWriter(pool), calls, given.metrics,
                            on_call_changed=on_call_changed, sensitive=ivr.sensitive_input_active,
                            on_ended_saved=lambda _: given.registry.wake())
    ami.subscribe(recorder.on_event)
    ami.observe_actions(recorder.on_action)
    ami.subscribe(offers.on_ami_event)
    ami.subscribe(ivr.on_event)
    ami.subscribe(given.registry.on_ami_event)
    return CallPath(tracker, recorder, calls, offers, console, handoff, ivr)


def _ivr_runner(given: CallPathInputs, tracker: CallTracker, handoff: RoutingHandoff) -> IvrRunner:
    clock = given.clock

    def answered(linkedid: str) -> bool:
        call = tracker.calls.get(linkedid)
        return call is not None and call.answered_at is not None

    return IvrRunner(given.ami, given.flows, given.ivr_log, handoff, given.orders,
                     CallbackTickets(given.database.pool), redirector=AmiRedirector(given.ami),
                     answered=answered, clock=lambda: datetime.fromtimestamp(clock.now(), UTC))
