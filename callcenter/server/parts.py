"""Builds the server's parts, starts their loops and the HTTP side, and stops them in reverse.

    settings → AMI link, routing engine, agents, IVR flows, recording registry
             → the call path (:mod:`callcenter.server.callpath`)
             → HTTP (health, metrics, log-in, API, pages)
             → the loops, under one supervisor (:mod:`callcenter.runtime.supervisor`)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from callcenter.agents.config import load_agents, load_skill_names
from callcenter.agents.pause_reasons import load_pause_reasons
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.dispatch import Stage
from callcenter.calls.ivr_log import IvrLog
from callcenter.clock import Clock
from callcenter.control.service import ControlService
from callcenter.control.targets import colleagues
from callcenter.jobs.queue import JobQueue
from callcenter.live.metrics import LiveCollector
from callcenter.live.wiring import LiveParts, build_live
from callcenter.metrics import Metrics
from callcenter.orders.factory import make_provider
from callcenter.recording.pause import RecordingPauser
from callcenter.recording.policy import RecordingPolicy
from callcenter.recording.registry import RecordingRegistry, path_mapper
from callcenter.routing.agent_service import AgentService
from callcenter.routing.agent_store import AgentStore
from callcenter.routing.callbacks import CallbackAdapter
from callcenter.routing.engine import RoutingEngine
from callcenter.runtime.periodic import periodic
from callcenter.runtime.supervisor import Supervisor
from callcenter.runtime.watchdog import Watchdog
from callcenter.server.callpath import CallPath, CallPathInputs, build_call_path
from callcenter.server.health import ServerHealth, watch_progress
from callcenter.server.resync import Server
from callcenter.settings import Settings
from callcenter.store.db import Database
from callcenter.store.users import UserStore
from callcenter.supervision.service import SupervisionService
from callcenter.supervision.store import SupervisionStore
from callcenter.web import (
    agent_page,
    api_control,
    api_kb,
    api_kpis,
    api_pauses,
    api_qa,
    api_recordings,
    api_supervision,
    api_tickets,
    kb_page,
    qa_page,
    reports_page,
    wallboard,
)
from callcenter.web.app import WebFeature, make_app
from callcenter.web.recording_access import RecordingAccess
from ivr.heartbeat import Heartbeat
from ivr.registry import FlowRegistry
from ivr.validate import Checks

# web features that need nothing but the database
KNOWLEDGE_AND_REPORTS = (api_kb.register, kb_page.register, api_kpis.register, reports_page.register,
                         api_qa.register, qa_page.register, wallboard.register, api_tickets.register)

log = structlog.get_logger("callcenter.server")


@dataclass(frozen=True, slots=True)
class _Background:
    """The parts that only loops and HTTP use (not on :class:`Server`)."""

    agent_store: AgentStore
    ivr_log: IvrLog
    flows: FlowRegistry
    registry: RecordingRegistry
    heartbeat: Heartbeat
    features: list[WebFeature]
    supervision: SupervisionService
    callbacks: CallbackAdapter
    control: ControlService
    live: LiveParts | None = None


@contextlib.asynccontextmanager
async def start_parts(settings: Settings, database: Database, metrics: Metrics, clock: Clock
                      ) -> AsyncIterator[Server]:
    """Build and start every part on an open (migrated) database; on exit, close them all in
    reverse order (each close runs even when an earlier one failed).

    Raises:
        ExceptionGroup: of :class:`~callcenter.runtime.supervisor.LoopFailed` when a loop failed
            for good (the server stopped).
    """
    server, background = await _build(settings, database, metrics, clock)
    async with contextlib.AsyncExitStack() as stack:
        await _start_http(server, background.heartbeat, background.features, stack)
        for name, flush in (("call-writer", server.recorder.flush), ("ivr-journal", background.ivr_log.flush),
                            ("agent-states", background.agent_store.flush)):
            stack.push_async_callback(_closing, f"final-flush:{name}", flush)
        if background.live is not None:
            await background.live.start()
            stack.push_async_callback(_closing, "live", background.live.close)
        await stack.enter_async_context(server.supervisor)
        for name, close in (("ami", server.ami.close), ("supervision", background.supervision.close),
                            ("offers", server.offers.close),
                            ("console", server.console.close), ("ivr", server.ivr.close),
                            ("callbacks", background.callbacks.close),
                            ("call-control", background.control.close)):
            stack.push_async_callback(_closing, name, close)
        _watch_link(server, background.heartbeat)
        _start_loops(server, background)
        yield server


async def _build(settings: Settings, database: Database, metrics: Metrics, clock: Clock
                 ) -> tuple[Server, _Background]:
    config = settings.config_dir
    skills = load_skill_names(config / "skills.yaml")
    engine = RoutingEngine.from_files(config / "routing.yaml", known_skills=skills, clock=clock.now,
                                      time_scale=clock.speed, metrics=metrics)
    agent_store = AgentStore(database.pool)
    agents = AgentService(engine, agent_store, known_skills=skills,
                          pause_reasons=load_pause_reasons(config / "pause_reasons.yaml"), metrics=metrics)
    flows = FlowRegistry([config / "ivr"], Checks(skills=frozenset(skills)))
    flows.reload()
    ami = AmiClient(settings.ami, metrics, clock=clock.now)
    ivr_log = IvrLog(database.pool, metrics=metrics)
    registry = _recording_registry(settings, database, clock)
    path = build_call_path(CallPathInputs(settings, database, metrics, clock, ami, engine, agents,
                                          make_provider(settings, database.pool), flows, ivr_log,
                                          registry))
    seed = load_agents(config / "agents.yaml", skills) if (config / "agents.yaml").exists() else []
    await agents.start(seed=seed)
    await _restore_callbacks(path.callbacks, metrics)
    watchdog = Watchdog(metrics, stall_s=settings.health.stall_s)
    watch_progress(watchdog, path.recorder, ivr_log, agent_store, engine, clock)
    server = Server(settings, database, metrics, ami, path.tracker, path.recorder, path.calls, engine,
                    agents, path.offers, path.ivr, clock, watchdog, Supervisor(metrics), path.console,
                    path.handoff, dispatcher=path.dispatcher)
    supervision = _supervision(database, path, ami, clock, metrics)
    live = build_live(settings.live, database.pool, ami.send, path.tracker.calls.get, path.console,
                      clock.now) if settings.live.enabled else None
    if live is not None:
        path.dispatcher.subscribe(Stage.RECORDING, live.service.on_call_event)
        registry.follow_unless(live.service.streamed)
        metrics.registry.register(LiveCollector(live.statistics))
    pause_send = live.guard_send(ami.send) if live is not None else ami.send
    features = [api_recordings.feature(_recording_access(settings, database, path, pause_send, clock)),
                agent_page.feature(path.console), api_pauses.register,
                api_control.feature(path.control, lambda: colleagues(engine)),
                api_supervision.feature(supervision), *KNOWLEDGE_AND_REPORTS,
                *([live.feature] if live else [])]
    return server, _Background(agent_store, ivr_log, flows, registry, Heartbeat(ami.send), features,
                               supervision, path.callbacks, path.control, live)


def _supervision(database: Database, path: CallPath, ami: AmiClient, clock: Clock,
                 metrics: Metrics) -> SupervisionService:
    """Supervisors on live calls, following the AMI stream and the actions sent."""
    users = UserStore(database.pool)

    async def audit(actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        await users.audit(actor, action, target=target, detail=detail)

    service = SupervisionService(ami.send, path.tracker.calls.get, path.offers.phones.agent_for_channel,
                                 SupervisionStore(database.pool), clock.now, metrics=metrics, audit=audit)
    ami.observe_actions(service.on_action)
    ami.observe_link(service.on_link)
    path.dispatcher.listen(service.on_ami_event)
    return service


def _recording_registry(settings: Settings, database: Database, clock: Clock) -> RecordingRegistry:
    local = path_mapper(settings.recording.monitor_dir, settings.recording.local_dir)
    queue = JobQueue(database.pool, retry_base_s=settings.asr.retry_base_s,
                     max_attempts=settings.asr.max_attempts)
    return RecordingRegistry(database.pool, local, settings.recording.grace_s, clock.now, queue=queue,
                             follow=settings.asr.follow_s > 0)


def _recording_access(settings: Settings, database: Database, path: CallPath,
                      send: Callable[[Action], Awaitable[AmiResponse]], clock: Clock) -> RecordingAccess:
    """Serving recordings, and pausing them while the IVR takes sensitive input."""
    recording = settings.recording
    pauser = RecordingPauser(RecordingPolicy(recording.monitor_dir, recording.enabled),
                             send, database.pool, path.tracker.calls.get, clock.now)
    path.ivr.add_sensitive_listener(pauser.on_sensitive_input)
    return RecordingAccess(path_mapper(recording.monitor_dir, recording.local_dir),
                                          Path(recording.local_dir or recording.monitor_dir), pauser)


async def _start_http(server: Server, heartbeat: Heartbeat, features: list[WebFeature],
                      stack: contextlib.AsyncExitStack) -> None:
    """Serve HTTP; its cleanup goes on ``stack`` as soon as there is something to clean up."""
    settings = server.settings
    checks = ServerHealth(server, heartbeat)
    server.metrics.add_refresher(checks.refresh_metrics)
    runner = web.AppRunner(make_app(checks.health(), server.metrics, server.database.pool,
                                    agents=server.agents, engine=server.engine, features=features,
                                    trust_proxy=settings.http.trust_proxy, clock=server.clock),
                           access_log=None)
    await runner.setup()
    stack.push_async_callback(_closing, "http", runner.cleanup)
    await web.TCPSite(runner, settings.http.host, settings.http.port).start()
    server.http = runner
    server.http_port = runner.addresses[0][1] if runner.addresses else settings.http.port


def _watch_link(server: Server, heartbeat: Heartbeat) -> None:
    """On each link-up: the IVR heartbeat first (the dialplan sees the IVR alive at once), then
    the reconcile with Asterisk, then the offers."""
    ami = server.ami

    async def resync_once() -> bool:
        try:
            await server.resync()
            return True
        except (AmiError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("ami_resync_failed", error=f"{type(exc).__name__}: {exc}")
            return False

    async def resync_until_done() -> None:
        """A failed reconcile (the database away, an action refused) is tried again every
        second while the link is up: /healthz stays 503 until it succeeds."""
        await periodic("resync-retry", 1.0, resync_once, retry_on=(),
                       until=lambda: not ami.connected or server.reconciled)

    async def on_link(state: str) -> None:
        if state == "up":
            if not await resync_once():
                server.supervisor.start("resync-retry", resync_until_done)
        else:
            server.reconciled = False

    ami.observe_link(heartbeat.on_link)
    ami.observe_link(on_link)
    ami.observe_link(server.offers.on_link)


def _start_loops(server: Server, background: _Background) -> None:
    """Every loop under the supervisor. The AMI link is not restarted: a refused login stops the
    server. The others make turns; one without a successful turn for ``health.stall_s`` turns
    ``/healthz`` 503."""
    stall_s = server.settings.health.stall_s
    supervisor = server.supervisor
    supervisor.start("ami", server.ami.run, restart=False)
    for name, loop in (("recorder", server.recorder.run), ("recordings", background.registry.run),
                       ("routing", server.engine.run), ("agent-states", server.agents.run),
                       ("ivr-log", background.ivr_log.run),
                       ("ivr-flows", lambda: background.flows.watch(2.0)),
                       ("ivr-heartbeat", background.heartbeat.run), ("watchdog", server.watchdog.run)):
        supervisor.start(name, loop, stall_s=stall_s)
    if background.live is not None:
        supervisor.start("live-relay", background.live.relay.run)


async def _restore_callbacks(callbacks: CallbackAdapter, metrics: Metrics) -> None:
    """Queue the stored open callbacks again in their place (a database error is logged: the
    callbacks stay stored for the next start)."""
    try:
        count = await callbacks.restore()
    except Exception as exc:
        metrics.caught("callbacks_not_restored")
        log.warning("callbacks_not_restored", error=f"{type(exc).__name__}: {exc}"[:300])
        return
    if count:
        log.info("callbacks_restored", count=count)


async def _closing(name: str, close: Callable[[], Awaitable[object]]) -> None:
    """Close one part on the way out; a failure is logged and the next part is closed anyway."""
    try:
        await close()
    except Exception as exc:
        log.exception("close_failed", part=name, error=f"{type(exc).__name__}: {exc}"[:300])
