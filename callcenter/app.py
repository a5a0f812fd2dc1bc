"""Builds the server from its parts and runs it (``callcenter serve``).

Everything is constructed here and passed through constructors: settings → database →
AMI link → tracker/recorder → HTTP. Resources are released in reverse order on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import structlog
from aiohttp import web

from callcenter.ami import messages
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.metrics import Metrics
from callcenter.recording.policy import RecordingPolicy
from callcenter.recording.registry import RecordingRegistry, path_mapper
from callcenter.recording.starter import RecordingStarter
from callcenter.settings import Settings, require_ami_secret
from callcenter.store.db import Database, open_database
from callcenter.store.events import EventLogWriter
from callcenter.store.migrate import migrate
from callcenter.web.app import Health, make_app

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
    http: web.AppRunner
    http_port: int
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def resync(self) -> None:
        """Rebuild live calls from Asterisk after (re)connecting, merged with what is stored."""
        channels = await self.ami.send(messages.core_show_channels())
        bridges = await self.ami.send(messages.bridge_list())
        changed = self.tracker.rebuild(channels.items, bridges.items, now=time.time())
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


@contextlib.asynccontextmanager
async def build_server(settings: Settings) -> AsyncIterator[Server]:
    """Start every part; yields the running server and stops everything on exit."""
    require_ami_secret(settings)
    metrics = Metrics()
    database = await open_database(settings.database, settings.state_dir)
    try:
        await migrate(database.pool)
        events = EventLogWriter(database.pool)
        calls = CallStore(database.pool)
        tracker = CallTracker()
        ami = AmiClient(settings.ami, metrics)
        policy = RecordingPolicy(settings.recording.monitor_dir, settings.recording.enabled)
        starter = RecordingStarter(policy, ami.send)

        def on_call_changed(key: str) -> None:
            call = tracker.calls.get(key)
            if call is not None:
                starter.on_call_changed(call)

        recorder = CallRecorder(tracker, events, calls, metrics, on_call_changed=on_call_changed)
        registry = RecordingRegistry(
            database.pool, path_mapper(settings.recording.monitor_dir, settings.recording.local_dir),
            settings.recording.grace_s)
        ami.subscribe(recorder.on_event)
        ami.observe_actions(recorder.on_action)

        async def database_health() -> tuple[bool, str]:
            ok = await database.ping()
            metrics.db_up.set(1 if ok else 0)
            return ok, "up" if ok else "unreachable"

        health = Health(ami=lambda: (ami.connected, ami.state), database=database_health)
        runner = web.AppRunner(make_app(health, metrics, database.pool), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else settings.http.port
        server = Server(settings, database, metrics, ami, tracker, recorder, calls, runner, port)

        async def on_link(state: str) -> None:
            if state == "up":
                try:
                    await server.resync()
                except AmiError as exc:
                    log.warning("ami_resync_failed", error=str(exc))

        ami.observe_link(on_link)
        server.tasks["ami"] = asyncio.create_task(ami.run(), name="ami")
        server.tasks["recorder"] = asyncio.create_task(recorder.run(), name="recorder")
        server.tasks["recordings"] = asyncio.create_task(registry.run(), name="recordings")
        try:
            yield server
        finally:
            await ami.close()
            for task in server.tasks.values():
                task.cancel()
            await asyncio.gather(*server.tasks.values(), return_exceptions=True)
            with contextlib.suppress(Exception):
                await recorder.flush()
            await runner.cleanup()
    finally:
        await database.close()


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
