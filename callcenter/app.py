"""Builds the server from its parts and runs it (``callcenter serve``).

Everything is constructed here and passed through constructors:

    settings → database → AMI link → call tracker + recorder (event log, calls)
                                   → IVR runner (AsyncAGI) → routing hand-off → offers (Originate)
                                   → recording (MixMonitor, registry)
                                   → HTTP (health, metrics, log-in, API)

Resources are released in reverse order on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from callcenter.agents.config import load_agents, load_skill_names
from callcenter.agents.service import AgentService
from callcenter.agents.store import AgentStore
from callcenter.ami import messages
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.calls.handoff import RoutingHandoff
from callcenter.calls.ivr_log import IvrLog
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.clock import Clock, WallClock
from callcenter.console.hub import ConsoleHub
from callcenter.jobs.queue import JobQueue
from callcenter.metrics import Metrics
from callcenter.orders.factory import make_provider
from callcenter.orders.tickets import CallbackTickets
from callcenter.recording.pause import RecordingPauser
from callcenter.recording.policy import RecordingPolicy
from callcenter.recording.registry import RecordingRegistry, path_mapper
from callcenter.recording.starter import RecordingStarter
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferAdapter
from callcenter.settings import Settings, require_ami_secret
from callcenter.store.db import Database, open_database
from callcenter.store.events import EventLogWriter
from callcenter.store.migrate import migrate
from callcenter.web import (
    agent_page,
    api_kb,
    api_kpis,
    api_qa,
    api_recordings,
    api_tickets,
    kb_page,
    qa_page,
    reports_page,
    wallboard,
)
from callcenter.web.app import Health, make_app
from ivr.heartbeat import Heartbeat
from ivr.registry import FlowRegistry
from ivr.runner import IvrRunner
from ivr.sinks import AmiRedirector
from ivr.validate import Checks

# web features that need nothing but the database
KNOWLEDGE_AND_REPORTS = (api_kb.register, kb_page.register, api_kpis.register, reports_page.register,
                         api_qa.register, qa_page.register, wallboard.register, api_tickets.register)

log = structlog.get_logger("callcenter.app")


@dataclass
class Server:
    """The running parts, for the CLI, the demo and the tests."""

    settings: Settings
    database: Database
    metrics: Metrics
    ami: AmiClient
    tracker: CallTracker
    recorder: CallRecorder
    calls: CallStore
    engine: RoutingEngine
    agents: AgentService
    offers: OfferAdapter
    ivr: IvrRunner
    http: web.AppRunner
    http_port: int
    clock: Clock
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    console: ConsoleHub | None = None
    reconciling: bool = False  # rebuilding the live calls from Asterisk's lists
    reconciled: bool = False  # done since the link last came up (healthz)

    async def resync(self) -> None:
        """Rebuild live calls from Asterisk after (re)connecting, merged with what is stored."""
        self.reconciling = True
        try:
            await self._resync()
            self.reconciled = True
        finally:
            self.reconciling = False

    async def _resync(self) -> None:
        channels = await self.ami.send(messages.core_show_channels())
        bridges = await self.ami.send(messages.bridge_list())
        changed = self.tracker.rebuild(channels.items, bridges.items, now=self.clock.now())
        live = [c.linkedid for c in self.tracker.live_calls()]
        stored = await self.calls.load_live(live)
        for call in self.tracker.live_calls():
            record = stored.get(call.linkedid)
            if record is not None:
                self.calls.restore(call, record)
        self.recorder.resume_sequences(await self.calls.event_sequences(
            [uid for c in self.tracker.live_calls() for uid in c.legs]))
        self.recorder.mark_changed(changed)
        log.info("ami_resynced", live_calls=len(live), changed=len(changed))


def _spawn(server: Server, name: str, coro: Coroutine[Any, Any, None]) -> None:
    server.tasks[name] = asyncio.create_task(coro, name=name)


@contextlib.asynccontextmanager
async def build_server(settings: Settings, database: Database | None = None,
                       clock: Clock | None = None) -> AsyncIterator[Server]:
    """Start every part; yields the running server and stops everything on exit.

    Args:
        settings: validated settings.
        database: an open database to use (the demo opens it first to seed it); opened and
            closed here when None.
        clock: the server's time (scaled in the demo and load runs).
    """
    require_ami_secret(settings)
    clock = clock or WallClock()
    metrics = Metrics()
    owns_database = database is None
    database = database or await open_database(settings.database, settings.state_dir)
    try:
        await migrate(database.pool)
        async with _parts(settings, database, metrics, clock) as server:
            yield server
    finally:
        if owns_database:
            await database.close()


@contextlib.asynccontextmanager
async def _parts(settings: Settings, database: Database, metrics: Metrics, clock: Clock
                 ) -> AsyncIterator[Server]:
    config = settings.config_dir
    pool = database.pool
    skills = load_skill_names(config / "skills.yaml")
    tracker = CallTracker()
    ami = AmiClient(settings.ami, metrics, clock=clock.now)
    engine = RoutingEngine.from_files(config / "routing.yaml", known_skills=skills, clock=clock.now,
                                      time_scale=clock.speed)
    agent_store = AgentStore(pool)
    agents = AgentService(engine, agent_store, known_skills=skills)
    orders = make_provider(settings, pool)

    def ivr_summary(call_id: str) -> dict[str, Any]:
        return ivr.summary(call_id)

    console = ConsoleHub(orders, pool, ivr_summary)
    agents.add_listener(console.on_agent_state)
    offers = OfferAdapter(engine, ami.send, on_ringing=console.on_ringing,
                          bridge_options="pF(survey^s^1)"
                          if settings.ivr.post_call_survey else "p")
    engine.add_sink(offers.carry_out)
    seed = load_agents(config / "agents.yaml", skills) if (config / "agents.yaml").exists() else []
    await agents.start(seed=seed)
    starter = RecordingStarter(RecordingPolicy(settings.recording.monitor_dir,
                                               settings.recording.enabled), ami.send)

    def on_call_changed(key: str) -> None:
        call = tracker.calls.get(key)
        if call is not None:
            starter.on_call_changed(call)
            console.on_call_changed(call)
            offers.on_call_changed(call)

    flows = FlowRegistry([config / "ivr"], Checks(skills=frozenset(skills)))
    flows.reload()
    ivr_log = IvrLog(pool)

    def answered(linkedid: str) -> bool:
        call = tracker.calls.get(linkedid)
        return call is not None and call.answered_at is not None

    handoff = RoutingHandoff(offers, engine, pool, tracker.calls.get, clock=clock.now,
                             on_queued=lambda key: recorder.mark_changed({key}))
    ivr = IvrRunner(ami, flows, ivr_log, handoff,
                    orders, CallbackTickets(pool),
                    redirector=AmiRedirector(ami), answered=answered,
                    clock=lambda: datetime.fromtimestamp(clock.now(), UTC))
    calls = CallStore(pool)
    recorder = CallRecorder(tracker, EventLogWriter(pool), calls, metrics,
                            on_call_changed=on_call_changed, sensitive=ivr.sensitive_input_active,
                            on_ended_saved=lambda _: registry.wake())
    # Order matters: the tracker sees each event before routing and the IVR act on it.
    ami.subscribe(recorder.on_event)
    ami.observe_actions(recorder.on_action)
    ami.subscribe(offers.on_ami_event)
    ami.subscribe(ivr.on_event)
    ami.subscribe(lambda event: registry.on_ami_event(event))
    local_recordings = path_mapper(settings.recording.monitor_dir, settings.recording.local_dir)
    registry = RecordingRegistry(pool, local_recordings, settings.recording.grace_s, clock.now,
                                 queue=JobQueue(pool, retry_base_s=settings.asr.retry_base_s,
                                                max_attempts=settings.asr.max_attempts))
    pauser = RecordingPauser(RecordingPolicy(settings.recording.monitor_dir, settings.recording.enabled),
                             ami.send, pool, tracker.calls.get, clock.now)
    ivr.add_sensitive_listener(pauser.on_sensitive_input)
    recording_access = api_recordings.RecordingAccess(
        local_recordings, Path(settings.recording.local_dir or settings.recording.monitor_dir), pauser)

    async def database_health() -> tuple[bool, str]:
        ok = await database.ping()
        metrics.db_up.set(1 if ok else 0)
        return ok, "up" if ok else "unreachable"

    heartbeat = Heartbeat(ami.send)

    def calls_health() -> tuple[bool, str]:
        if server.reconciling:
            return False, "reconciling with Asterisk"
        if not server.reconciled:
            return False, "not reconciled with Asterisk since the link came up"
        return True, "reconciled"

    health = Health(ami=lambda: (ami.connected, ami.state), database=database_health,
                    checks={"ivr": heartbeat.status, "calls": calls_health})
    features = [api_recordings.feature(recording_access), agent_page.feature(console), *KNOWLEDGE_AND_REPORTS]
    runner = web.AppRunner(make_app(health, metrics, pool, agents=agents, engine=engine,
                                    features=features, trust_proxy=settings.http.trust_proxy),
                           access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http.host, settings.http.port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.http.port
    server = Server(settings, database, metrics, ami, tracker, recorder, calls, engine, agents,
                    offers, ivr, runner, port, clock, console=console)

    async def on_link(state: str) -> None:
        if state == "up":
            try:
                await server.resync()
            except AmiError as exc:
                log.warning("ami_resync_failed", error=str(exc))
        else:
            server.reconciled = False

    ami.observe_link(heartbeat.on_link)  # first: the IVR is alive for the dialplan at once
    ami.observe_link(on_link)
    ami.observe_link(offers.on_link)
    _spawn(server, "ami", ami.run())
    _spawn(server, "recorder", recorder.run())
    _spawn(server, "recordings", registry.run())
    _spawn(server, "routing", engine.run())
    _spawn(server, "agent-states", agents.run())
    _spawn(server, "ivr-log", ivr_log.run())
    _spawn(server, "ivr-flows", flows.watch(2.0))
    _spawn(server, "ivr-heartbeat", heartbeat.run())
    try:
        yield server
    finally:
        await ivr.close()
        await console.close()
        await offers.close()
        await ami.close()
        for task in server.tasks.values():
            task.cancel()
        await asyncio.gather(*server.tasks.values(), return_exceptions=True)
        for flush in (recorder.flush, ivr_log.flush, agent_store.flush):
            try:
                await flush()
            except Exception as exc:
                log.warning("final_flush_failed", part=flush.__qualname__, error=str(exc))
        await runner.cleanup()


async def serve(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM or until the AMI login is refused."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with build_server(settings) as server:
        log.info("server_started", http=f"http://{settings.http.host}:{server.http_port}",
                 ami=f"{settings.ami.host}:{settings.ami.port}")
        ami_task = server.tasks["ami"]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({ami_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if ami_task in done and ami_task.exception() is not None:
            log.error("server_stopping", reason=str(ami_task.exception()))
            return 1
    return 0
