"""``callcenter demo``: the whole product on one machine with nothing else installed.

Embedded PostgreSQL (unless ``DATABASE_URL`` is set), migrations, the demo shop, the PBX
simulator with calls that keep coming, the server (IVR, routing, recording) and the web UI on
http://127.0.0.1:8080. Ctrl-C stops everything; the data stays in the state directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from callcenter.agents.config import load_agents, load_skill_names
from callcenter.agents.model import AgentProfile, AgentState
from callcenter.clock import clock_for
from callcenter.demo.data import DemoData, generate
from callcenter.demo.seed import seed_shop
from callcenter.demo.setup import DEMO_PASSWORD, STAFF_PHONES, build_scenario, demo_users, prepare_config
from callcenter.demo.voices import ensure_voices
from callcenter.demo.workers import WorkerSupervisor, available_kinds, worker_env
from callcenter.kb.store import seed_articles
from callcenter.server.build import build_server
from callcenter.server.resync import Server
from callcenter.settings import AmiSettings, RecordingSettings, Secret, Settings
from callcenter.simulator.config import SimulatorConfig
from callcenter.simulator.scenario import Scenario
from callcenter.simulator.server import PbxSimulator
from callcenter.store.db import open_database
from callcenter.store.migrate import migrate
from callcenter.store.users import UserStore

LIVE_MAX_SPEED = 2.0  # live speech is real time: faster than that, no worker keeps up with it
log = structlog.get_logger("callcenter.demo")
REPO = Path(__file__).resolve().parents[2]
STOCK_SOUNDS = (Path("/usr/share/asterisk/sounds"), Path("/var/lib/asterisk/sounds"))
MISSED_BREAK_S = 45.0  # simulated seconds before a demo agent who missed a call is ready again


@dataclass
class Demo:
    server: Server
    simulator: PbxSimulator
    users: list[dict[str, str]]
    traffic: asyncio.Task[None]


ScenarioFactory = Callable[[DemoData, dict[str, Path], list[AgentProfile]], Scenario]


# Calls a previous run left live (the demo was stopped mid-call) are closed: the PBX that
# carried them is gone. Answered ones were answered; the others never reached anybody.
CLOSE_LEFTOVERS_SQL = """
UPDATE calls SET state = 'ended',
       ended_at = coalesce(ended_at, greatest(updated_at, arrived_at)),
       outcome = coalesce(outcome, CASE WHEN answered_at IS NOT NULL THEN 'answered'
                                        WHEN state = 'ivr' THEN 'ivr_hangup' ELSE 'failed' END)
WHERE state <> 'ended'"""


async def close_leftover_calls(pool: asyncpg.Pool) -> int:
    """End the calls a previous run left live; returns how many."""
    result: str = await pool.execute(CLOSE_LEFTOVERS_SQL)
    return int(result.rsplit(" ", 1)[-1] or 0)


@contextlib.contextmanager
def step(say: Callable[[str], None], what: str) -> Iterator[None]:
    """Say what a start-up step does and, when done, how long it took."""
    started = time.monotonic()
    say(f"  {what}…")
    yield
    say(f"  {what}: done in {time.monotonic() - started:.1f} s")


def _quiet(_: str) -> None:
    return None


@contextlib.asynccontextmanager
async def running_demo(settings: Settings, speed: float = 1.0, rate_scale: float = 1.0,
                       scenario: ScenarioFactory | None = None,
                       say: Callable[[str], None] = _quiet) -> AsyncIterator[Demo]:
    """Start the demo; yields once calls are flowing, stops everything on exit. ``say``
    hears about each start-up step and how long it took.

    ``scenario`` replaces the demo's traffic (tests rehearse one flow with it)."""
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    with step(say, "preparing the callers' and agents' voices"):
        voices = await asyncio.to_thread(ensure_voices, state / "voices")
    config_dir = prepare_config(settings.config_dir, state / "demo-config")
    recordings = _recordings_dir(state)
    secret = secrets.token_urlsafe(16)
    simulator = PbxSimulator(SimulatorConfig(
        host="127.0.0.1", port=0, secret=secret, time_scale=speed,
        sound_dirs=(REPO / "asterisk-conf" / "sounds", *STOCK_SOUNDS), recording_dir=recordings))
    port = await simulator.start()
    with step(say, "starting the database"):
        database = await open_database(settings.database, state)
    try:
        data = await _prepare_database(database.pool, config_dir, say)
        agents = load_agents(config_dir / "agents.yaml", load_skill_names(config_dir / "skills.yaml"))
        server_settings = _server_settings(settings, config_dir, port, secret, recordings, speed)
        async with build_server(server_settings, database, clock_for(speed)) as server:
            users = await _create_users(server, agents)
            for agent in agents:
                server.agents.login(agent.agent_id, ready=True)
            script = (scenario or (lambda d, v, a: build_scenario(d, v, a, rate_scale)))(
                data, voices, agents)
            async with _traffic(server, simulator, script) as traffic:
                yield Demo(server, simulator, users, traffic)
    finally:
        await simulator.stop()
        await database.close()


def _server_settings(settings: Settings, config_dir: Path, port: int, secret: str, recordings: Path,
                     speed: float) -> Settings:
    """The demo's server on the simulator; live speech only near real time."""
    return dataclasses.replace(
        settings, config_dir=config_dir,
        ami=dataclasses.replace(settings.ami, host="127.0.0.1", port=port, secret=Secret(secret),
                                reconnect_min_s=0.2, reconnect_max_s=2.0),
        recording=RecordingSettings(monitor_dir="/var/spool/asterisk/monitor",
                                    local_dir=str(recordings), grace_s=5.0 / speed),
        live=dataclasses.replace(settings.live, enabled=settings.live.enabled and speed <= LIVE_MAX_SPEED))


def _recordings_dir(state: Path) -> Path:
    recordings = (state / "recordings").resolve()
    recordings.mkdir(parents=True, exist_ok=True)
    recordings.chmod(0o750)  # personal data: no access for other users of the machine
    return recordings


async def _prepare_database(pool: asyncpg.Pool, config_dir: Path, say: Callable[[str], None]) -> DemoData:
    """Migrations, the previous run's live calls closed, the demo shop and knowledge base seeded."""
    with step(say, "applying database migrations"):
        await migrate(pool)
    closed = await close_leftover_calls(pool)
    if closed:
        say(f"  closed {closed} call(s) left live by the previous run")
    with step(say, "seeding the demo shop and the knowledge base"):
        data = generate()
        await seed_shop(pool, data)
        await seed_articles(pool, config_dir / "kb")
    return data


@contextlib.asynccontextmanager
async def _traffic(server: Server, simulator: PbxSimulator,
                   script: Scenario) -> AsyncIterator[asyncio.Task[None]]:
    """The scenario's calls, and the stand-in for people who ready missed agents, until exit."""
    traffic = asyncio.create_task(simulator.run_scenario(script), name="demo-traffic")
    helper = asyncio.create_task(_ready_missed_agents(server), name="demo-agents")
    try:
        yield traffic
    finally:
        for task in (traffic, helper):
            task.cancel()
        await asyncio.gather(traffic, helper, return_exceptions=True)


async def _create_users(server: Server, agents: list[AgentProfile]) -> list[dict[str, str]]:
    store = UserStore(server.database.pool)
    rows = await server.database.pool.fetch("SELECT id, login FROM agents")
    agent_db_ids = {r["login"]: r["id"] for r in rows}
    users = demo_users(agents)
    # the staffing may have changed since the last run: agentN may now be another agent
    await server.database.pool.execute(
        "UPDATE users SET agent_id = NULL, disabled = true WHERE login = ANY($1::text[])",
        [u["login"] for u in users])
    for user in users:
        # a language the user chose in an earlier run stays theirs
        language = await store.language_of(user["login"]) or user.get("language", "en")
        await store.create_user(user["login"], user["name"], user["role"], DEMO_PASSWORD,
                                language=language, agent_id=agent_db_ids.get(user.get("agent_login", "")))
    for login, phone in STAFF_PHONES.items():
        await server.database.pool.execute("UPDATE users SET phone = $2 WHERE login = $1", login, phone)
    return [{"login": u["login"], "role": u["role"], "name": u["name"]} for u in users]


async def _ready_missed_agents(server: Server) -> None:
    """Stands in for people: a demo agent who missed a call is ready again after a break."""
    while True:
        await server.clock.sleep(5.0)
        now = server.clock.now()
        for status in server.agents.statuses():
            if status.state is AgentState.PAUSED and status.reason == "missed" \
                    and now - status.since >= MISSED_BREAK_S:
                server.agents.ready(status.agent_id)


async def run_demo(settings: Settings, speed: float, http_port: int,
                   say: Callable[[str], None] = print) -> int:
    settings = dataclasses.replace(settings, http=dataclasses.replace(settings.http, port=http_port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    say("Starting the callcenter demo:")
    async with running_demo(settings, speed, say=say) as demo, _workers(demo, say) as kinds:
        base = f"http://{settings.http.host}:{demo.server.http_port}"
        say(f"\ncallcenter demo is running (speed x{speed:g}). Calls are arriving now.\n")
        say(f"  Log in:      {base}/login")
        say(f"  Calls API:   {base}/api/calls      OpenAPI: {base}/api/openapi.json")
        say(f"  Health:      {base}/healthz        Metrics: {base}/metrics")
        say(f"\n  Demo logins (password '{DEMO_PASSWORD}', demo mode only):")
        for user in demo.users:
            say(f"    {user['login']:<12} {user['role']:<11} {user['name']}")
        if kinds:
            say(f"\n  Workers: {', '.join(kinds)} (recordings become transcripts and QA scores)")
        say(f"\n  Data stays in {settings.state_dir.resolve()}. Press Ctrl-C to stop.\n")
        await stop.wait()
        say("stopping…")
    return 0


@contextlib.asynccontextmanager
async def _workers(demo: Demo, say: Callable[[str], None] = _quiet) -> AsyncIterator[list[str]]:
    server = demo.server
    embedded = server.database.embedded
    url = embedded.dsn() if embedded is not None else server.settings.database.url.reveal()
    kinds = available_kinds()
    supervisor = WorkerSupervisor(worker_env(server.settings, url), kinds, server.metrics)
    await supervisor.start()
    try:
        yield kinds
    finally:
        if kinds:
            say("stopping the workers…")
        await supervisor.stop()


def fast_settings(settings: Settings, state_dir: Path) -> Settings:
    """Settings for a demo run in tests: its own state directory and any free HTTP port."""
    return dataclasses.replace(settings, state_dir=state_dir,
                               http=dataclasses.replace(settings.http, port=0),
                               ami=AmiSettings(secret=Secret("unused")))
