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
import json
import signal
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
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
from callcenter.calls.model import CallState
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.clock import Clock, WallClock
from callcenter.console.hub import ConsoleHub
from callcenter.jobs.queue import JobQueue
from callcenter.jobs.stats import job_stats, publish
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
from callcenter.store.roles import restricted_database
from callcenter.watchdog import Watchdog, install_loop_handler
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
from ivr.effects import RouteRequirements
from ivr.heartbeat import Heartbeat
from ivr.registry import FlowRegistry
from ivr.runner import CallStart, IvrRunner
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
    watchdog: Watchdog
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    console: ConsoleHub | None = None
    handoff: RoutingHandoff | None = None  # the IVR's way into routing (requeue after a restart)
    reconciling: bool = False  # rebuilding the live calls from Asterisk's lists
    reconciled: bool = False  # done since the link last came up (healthz)
    resyncs: int = 0

    async def resync(self) -> None:
        """Rebuild live calls from Asterisk after (re)connecting, merged with what is stored."""
        self.reconciling = True
        try:
            await self._resync()
            self.reconciled = True
        finally:
            self.reconciling = False

    async def _resync(self) -> None:
        asked_at = self.clock.now()
        channels = await self.ami.send(messages.core_show_channels())
        bridges = await self.ami.send(messages.bridge_list())
        changed = self.tracker.rebuild(channels.items, bridges.items, now=self.clock.now(),
                                       asked_at=asked_at)
        live = [c.linkedid for c in self.tracker.live_calls()]
        stored = await self.calls.load_live(live)
        for call in self.tracker.live_calls():
            record = stored.get(call.linkedid)
            if record is not None:
                self.calls.restore(call, record)
        self.recorder.resume_sequences(await self.calls.event_sequences(
            [uid for c in self.tracker.live_calls() for uid in c.legs]))
        # calls stored as live that Asterisk no longer has: from a previous run of the server
        # (or one this run lost sight of), ended with an honest reason
        closed = await self.calls.close_unseen(
            [c.linkedid for c in self.tracker.calls.values()], asked_at,
            "link_down" if self.resyncs else "server_down")
        self.resyncs += 1
        self.recorder.mark_changed(changed)
        fixed = self.offers.reconcile(self.tracker.calls.get)
        adopted = self.ivr.adopt(channels.items, self._may_start_ivr)
        requeued = await self._requeue_held(stored)
        log.info("ami_resynced", live_calls=len(live), changed=len(changed), closed=len(closed),
                 ivr_adopted=len(adopted), requeued=len(requeued), **fixed)

    async def _requeue_held(self, stored: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Callers waiting on hold whom the router does not know (a restarted server: the hold
        music goes on under AGI, the queue was in the old process) are queued again with the
        requirements the IVR stored, longest waiting first, so they keep their order."""
        if self.handoff is None:
            return []
        held = sorted((c for c in self.tracker.live_calls()
                       if c.queued_at is not None and c.answered_at is None and c.bridged_at is None
                       and c.caller is not None and c.linkedid in stored
                       and self.engine.router.call_status(c.linkedid) is None),
                      key=lambda c: c.queued_at or 0.0)
        requeued: list[str] = []
        for call in held:
            record = stored[call.linkedid]
            requirements = queued_requirements(record["ivr_path"])
            caller = call.caller
            if requirements is None or caller is None:
                continue
            context = record["context"]
            context = json.loads(context) if isinstance(context, str) else dict(context or {})
            await self.handoff.enqueue(call.linkedid, caller.channel, requirements, context)
            requeued.append(call.linkedid)
        return requeued

    def _may_start_ivr(self, start: CallStart, kind: str) -> bool:
        """A channel in AGI that no IVR session serves: restart its flow unless it is a caller
        holding a place in the queue (hold music runs under AGI too) or already answered."""
        if kind != "inbound":
            return True
        key = self.tracker.call_key_for_uniqueid(start.uniqueid) or start.linkedid
        call = self.tracker.calls.get(key)
        if call is not None and (call.queued_at is not None or call.answered_at is not None
                                 or call.state is not CallState.IVR):
            return False
        return self.engine.router.call_status(key) is None


def queued_requirements(path: Any) -> RouteRequirements | None:
    """The routing requirements of the IVR's last ``queued`` step in a stored ``ivr_path``."""
    entries = json.loads(path) if isinstance(path, str) else path
    for entry in reversed(entries or []):
        if isinstance(entry, dict) and entry.get("kind") == "queued" and entry.get("skill"):
            tags = entry.get("tags") or []
            return RouteRequirements(str(entry["skill"]), int(entry.get("min_level") or 1),
                                     str(entry.get("language") or "en"), int(entry.get("priority") or 0),
                                     tuple(str(t) for t in tags))
    return None


def _spawn(server: Server, name: str, factory: Callable[[], Coroutine[Any, Any, None]],
           restart: bool = True) -> None:
    """A background task under the watchdog: an exception is logged, counted and shown by
    ``/healthz``; the task is started again unless ``restart`` is off."""
    server.tasks[name] = server.watchdog.supervise(name, factory, restart=restart)


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
    install_loop_handler(metrics)
    owns_database = database is None
    database = database or await open_database(settings.database, settings.state_dir)
    try:
        await migrate(database.pool)
        restricted = await restricted_database(database, settings.database)
        try:
            async with _parts(settings, restricted, metrics, clock) as server:
                yield server
        finally:
            if restricted is not database:
                await restricted.close()
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

    console = ConsoleHub(orders, pool, ivr_summary,
                         agent_for_channel=lambda channel: offers.agent_for_channel(channel),
                         clock=clock.now)
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
    ivr_log = IvrLog(pool, metrics=metrics)

    def answered(linkedid: str) -> bool:
        call = tracker.calls.get(linkedid)
        return call is not None and call.answered_at is not None

    handoff = RoutingHandoff(offers, engine, pool, tracker.calls.get, clock=clock.now,
                             on_queued=lambda key: recorder.mark_changed({key}))
    ivr = IvrRunner(ami, flows, ivr_log, handoff,
                    orders, CallbackTickets(pool),
                    redirector=AmiRedirector(ami), answered=answered,
                    clock=lambda: datetime.fromtimestamp(clock.now(), UTC))
    calls = CallStore(pool, metrics)
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


    watchdog = Watchdog(metrics, stall_s=settings.health.stall_s)
    watch_progress(watchdog, recorder, ivr_log, agent_store, engine, clock)

    async def publish_jobs() -> dict[str, str]:
        stats = await job_stats(pool)
        publish(stats, metrics)
        return {f"worker:{kind}": why for kind, s in stats.items()
                if (why := s.stalled(settings.health.worker_stall_s))}

    async def progress() -> dict[str, str]:
        stalled = watchdog.problems()
        try:
            stalled.update(await publish_jobs())
        except Exception as exc:  # the database check reports the database itself
            log.debug("job_stats_unavailable", error=type(exc).__name__)
        for name in ("asr", "qa"):
            metrics.progress_stalled.labels(f"worker:{name}").set(
                1 if f"worker:{name}" in stalled else 0)
        return stalled

    async def refresh_metrics() -> None:
        await progress()

    metrics.add_refresher(refresh_metrics)
    health = Health(ami=lambda: (ami.connected, ami.state), database=database_health,
                    checks={"ivr": heartbeat.status, "calls": calls_health},
                    progress=progress)
    features = [api_recordings.feature(recording_access), agent_page.feature(console), *KNOWLEDGE_AND_REPORTS]
    runner = web.AppRunner(make_app(health, metrics, pool, agents=agents, engine=engine,
                                    features=features, trust_proxy=settings.http.trust_proxy),
                           access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http.host, settings.http.port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.http.port
    server = Server(settings, database, metrics, ami, tracker, recorder, calls, engine, agents,
                    offers, ivr, runner, port, clock, watchdog, console=console, handoff=handoff)

    async def resync_once() -> bool:
        try:
            await server.resync()
            return True
        except (AmiError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("ami_resync_failed", error=f"{type(exc).__name__}: {exc}")
            return False

    async def resync_until_done() -> None:
        """A failed reconcile (the database away, an action refused) is tried again while the
        link is up: /healthz stays 503 until it succeeds."""
        while ami.connected and not server.reconciled:
            await asyncio.sleep(1.0)
            if ami.connected and not server.reconciled and await resync_once():
                return

    async def on_link(state: str) -> None:
        if state == "up":
            if not await resync_once():
                _spawn(server, "resync-retry", resync_until_done, restart=False)
        else:
            server.reconciled = False

    ami.observe_link(heartbeat.on_link)  # first: the IVR is alive for the dialplan at once
    ami.observe_link(on_link)
    ami.observe_link(offers.on_link)
    _spawn(server, "ami", ami.run, restart=False)  # a refused login stops the server
    _spawn(server, "recorder", recorder.run)
    _spawn(server, "recordings", registry.run)
    _spawn(server, "routing", engine.run)
    _spawn(server, "agent-states", agents.run)
    _spawn(server, "ivr-log", ivr_log.run)
    _spawn(server, "ivr-flows", lambda: flows.watch(2.0))
    _spawn(server, "ivr-heartbeat", heartbeat.run)
    _spawn(server, "watchdog", watchdog.run)
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


def watch_progress(watchdog: Watchdog, recorder: CallRecorder, ivr_log: IvrLog,
                   agent_store: AgentStore, engine: RoutingEngine, clock: Clock) -> None:
    """The loops and writers whose progress ``/healthz`` checks."""
    watchdog.watch("writer:calls", lambda: recorder.last_progress)
    watchdog.watch("writer:ivr-journal", lambda: ivr_log.last_progress)
    watchdog.watch("writer:agent-states", lambda: agent_store.last_progress)

    def routing_timers() -> float:
        # a timer due long ago that has not fired: the routing loop is stuck
        now = time.monotonic()
        due = engine.router.next_due()
        if due is None:
            return now
        late = max(0.0, clock.now() - due) / max(clock.speed, 1e-9)
        return now - late

    watchdog.watch("loop:routing-timers", routing_timers)


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
