"""Runs the whole server against the PBX simulator for routing tests.

Composed like ``callcenter.demo.run.running_demo`` (config copy open around the clock, the demo
shop in a real PostgreSQL, the simulator on a free port, the server on a scaled clock), but with
the test's own routing policy, agents file and scripted phones, and with probes: every event the
routing engine is fed and every decision it makes is recorded with its (simulated) time.

Times in the assertions are the server clock's seconds; waits are bounded in simulated seconds,
so nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import patch

import asyncpg
import yaml

from callcenter.agents.model import AgentState
from callcenter.clock import ScaledClock
from callcenter.demo.data import generate, phone_for
from callcenter.demo.seed import seed_shop
from callcenter.demo.setup import MENU_AT_S, SURVEY_AT_S, prepare_config
from callcenter.routing import events as ev
from callcenter.routing.decisions import AgentStateChanged, CancelOffer, Decision, Offer
from callcenter.server.build import build_server
from callcenter.server.resync import Server
from callcenter.settings import (
    AmiSettings,
    DatabaseSettings,
    HttpSettings,
    RecordingSettings,
    Secret,
    Settings,
)
from callcenter.simulator import (
    AgentScript,
    Behaviour,
    CallerScript,
    PbxSimulator,
    Press,
    Scenario,
    SimulatorConfig,
    Speech,
    Survey,
)
from callcenter.store.db import open_database
from callcenter.store.migrate import migrate

REPO = Path(__file__).resolve().parents[2]
AUDIO = REPO / "callcenter" / "simulator" / "scenarios" / "audio"
STOCK_SOUNDS = (Path("/usr/share/asterisk/sounds"), Path("/var/lib/asterisk/sounds"))
# the simulated clock runs this much faster than real time: low enough that a loaded machine
# (two test workers beside the real-PBX rigs) still answers within the simulated timeouts
SPEED = 10.0

# Demo shop customers (callcenter.demo.data.generate): standard tier, English profile.
EN_CUSTOMERS = (4, 14, 16, 18, 25, 27, 28)
# The IVR's digits for each skill (config/ivr/aftersales.yaml): main menu, then sub-menu.
MENU_DIGITS = {"refunds": "22", "returns": "21", "delivery": "31", "complaints": "4", "general": "0"}


def caller(index: int, skill: str = "refunds", *, patience_s: float | None = 240.0,
           survey: str | None = "5", language: str = "en") -> CallerScript:
    """Demo customer ``index`` (profile language ``language``) choosing ``skill`` in the IVR."""
    digits = MENU_DIGITS[skill]
    menu_at = MENU_AT_S[language]
    presses = [Press(menu_at, digits[0])]
    if len(digits) > 1:
        presses.append(Press(menu_at + 3.0, digits[1]))
    return CallerScript(
        number=phone_for(index), name=f"Customer {index}", language=language,
        behaviour=Behaviour(presses=tuple(presses), patience_s=patience_s,
                            talk=(Speech(1.0, AUDIO / "customer.wav"),),
                            survey=Survey(survey, SURVEY_AT_S[language]) if survey else None))


def phone(extension: str, *, answer_after_s: float = 1.0, hangup_after_s: float | None = 8.0,
          never_answers: bool = False) -> AgentScript:
    """An agent's softphone ``PJSIP/<extension>``."""
    if never_answers:
        return AgentScript(extension=extension, behaviour=Behaviour(never_answers=True))
    return AgentScript(extension=extension, behaviour=Behaviour(
        answer_after_s=answer_after_s, says=(Speech(0.5, AUDIO / "agent.wav"),),
        hangup_after_s=hangup_after_s))


def agent_entry(login: str, extension: str, skills: dict[str, int],
                languages: Sequence[str] = ("en",)) -> dict[str, Any]:
    """One ``agents.yaml`` entry."""
    return {"login": login, "name": login.title(), "dial_string": f"PJSIP/{extension}",
            "languages": list(languages), "skills": dict(skills)}


@dataclass
class Probe:
    """What the routing engine was fed and what it decided, in order, with times."""

    events: list[ev.RouterEvent] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def offers(self) -> list[Offer]:
        return [d for d in self.decisions if isinstance(d, Offer)]

    def cancels(self) -> list[CancelOffer]:
        return [d for d in self.decisions if isinstance(d, CancelOffer)]

    def states(self, agent_id: str) -> list[AgentStateChanged]:
        return [d for d in self.decisions
                if isinstance(d, AgentStateChanged) and d.agent_id == agent_id and d.state_changed]

    def enqueued(self) -> list[ev.CallEnqueued]:
        return [e for e in self.events if isinstance(e, ev.CallEnqueued)]


@dataclass
class Harness:
    server: Server
    simulator: PbxSimulator
    probe: Probe
    db_url: str
    speed: float

    @property
    def now(self) -> float:
        return self.server.clock.now()

    def call(self, script: CallerScript) -> str:
        """Place a call now; returns its inbound channel name."""
        return self.simulator.place_call(script)

    async def sleep(self, sim_s: float) -> None:
        await self.server.clock.sleep(sim_s)

    async def wait_for(self, condition: Callable[[], bool], sim_s: float, what: str = "") -> None:
        """Poll ``condition`` until it holds; fail after ``sim_s`` simulated seconds."""
        deadline = self.now + sim_s
        while not condition():
            if self.now > deadline:
                raise AssertionError(f"not within {sim_s:g} simulated seconds: {what or condition}")
            await asyncio.sleep(0.02)

    def state(self, agent_id: str) -> AgentState:
        return self.server.engine.agent_status(agent_id).state

    async def finish(self, sim_s: float = 120.0) -> list[asyncpg.Record]:
        """Wait for every call to end, flush, check that nothing is left half-way; returns the
        stored calls."""
        await self.wait_for(lambda: not self.server.tracker.live_calls()
                            and not self.simulator.channels(), sim_s, "all calls ended")
        await self.server.offers.wait_idle()
        await self.server.recorder.flush()
        stuck = [(s.agent_id, s.state.value) for s in self.server.agents.statuses()
                 if s.state in (AgentState.OFFERED, AgentState.TALKING)]
        assert stuck == [], f"agents left offered/talking: {stuck}"
        assert self.server.engine.waiting_calls() == []
        rows = await self.stored_calls()
        unfinished = [dict(r) for r in rows if r["state"] != "ended" or r["outcome"] is None]
        assert unfinished == [], f"calls not ended with an outcome: {unfinished}"
        return rows

    async def stored_calls(self) -> list[asyncpg.Record]:
        return list(await self.server.database.pool.fetch(
            "SELECT id, linkedid, caller_number, state, outcome, agent_channel, hangup_by,"
            " arrived_at, queued_at, answered_at, bridged_at, ended_at, offers"
            " FROM calls ORDER BY arrived_at"))


def write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@contextlib.asynccontextmanager
async def running(tmp_path: Path, db_url: str, *, policy: dict[str, Any],
                  agents: Iterable[dict[str, Any]], phones: Iterable[AgentScript],
                  ready: Iterable[str] | None = None, speed: float = SPEED,
                  grace_s: float | None = None) -> AsyncIterator[Harness]:
    """The server and the simulator with ``policy`` (routing.yaml as data), ``agents``
    (agents.yaml entries) and ``phones``; the agents in ``ready`` (default: all) are logged in
    ready."""
    agents = list(agents)
    state = tmp_path / "state"
    state.mkdir(parents=True, exist_ok=True)
    config = prepare_config(REPO / "config", tmp_path / "config")
    write_yaml(config / "routing.yaml", {"version": 1, **policy})
    write_yaml(config / "agents.yaml", {"agents": agents})
    recordings = (state / "recordings").resolve()
    recordings.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(16)
    simulator = PbxSimulator(SimulatorConfig(
        host="127.0.0.1", port=0, secret=secret, time_scale=speed,
        sound_dirs=(REPO / "asterisk-conf" / "sounds", *STOCK_SOUNDS), recording_dir=recordings))
    port = await simulator.start()
    simulator.install(Scenario((), tuple(phones), "routing-test"))
    settings = Settings(
        state_dir=state, config_dir=config, database=DatabaseSettings(url=Secret(db_url)),
        http=HttpSettings(port=0),
        ami=dataclasses.replace(AmiSettings(), host="127.0.0.1", port=port, secret=Secret(secret),
                                reconnect_min_s=0.2, reconnect_max_s=2.0),
        recording=RecordingSettings(monitor_dir="/var/spool/asterisk/monitor",
                                    local_dir=str(recordings),
                                    grace_s=5.0 / speed if grace_s is None else grace_s))
    database = await open_database(settings.database, state)
    try:
        await migrate(database.pool)
        await seed_shop(database.pool, generate())
        with contextlib.ExitStack() as spies:  # undone once the server has stopped
            async with build_server(settings, database, ScaledClock(speed)) as server:
                probe = Probe()
                engine = server.engine
                submit = engine.submit

                def recording_submit(event: ev.RouterEvent) -> None:
                    probe.events.append(event)
                    submit(event)

                spies.enter_context(patch.object(engine, "submit", recording_submit))
                engine.add_sink(probe.decisions.extend)
                harness = Harness(server, simulator, probe, db_url, speed)
                await harness.wait_for(lambda: server.ami.connected, 10 * speed, "AMI connected")
                for login in (ready if ready is not None else [a["login"] for a in agents]):
                    server.agents.login(login, ready=True)
                probe.events.clear()  # from here on: what the calls cause
                probe.decisions.clear()
                yield harness
    finally:
        await simulator.stop()
        await database.close()


def offers_of(row: asyncpg.Record) -> list[dict[str, Any]]:
    value = row["offers"]
    return list(json.loads(value) if isinstance(value, str) else value)


async def fetch(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Read the database after the server stopped (and flushed everything)."""
    conn = await asyncpg.connect(db_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def agent_history(db_url: str, login: str) -> list[tuple[str, str, float]]:
    """An agent's stored state changes, oldest first: (state, reason, at)."""
    rows = await fetch(db_url, "SELECT c.state, c.reason, c.at FROM agent_state_changes c"
                               " JOIN agents a ON a.id = c.agent_id WHERE a.login = $1"
                               " ORDER BY c.at, c.id", login)
    return [(r["state"], r["reason"], r["at"].timestamp()) for r in rows]
