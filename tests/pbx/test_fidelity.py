"""FIDELITY from the real PBX: each call flow recorded on the real Asterisk 22
(``tests/data/pbx-captures/*.jsonl``, the server's own AMI link) against the same flow on the PBX
simulator with the same server; per channel the same events in the same order, but for the
differences listed (with their reasons) in :data:`tests.pbx.fidelity.ACCEPTED`. The flows:
the answered call (with the order-status read-back), three calls at once whose first offer
rings out unanswered, meets a 486 Busy phone and an unregistered phone, each re-offered to the
next agent; a caller abandoning on hold; the post-call survey after the agent hangs up; the
payment pause (the agent's pause and resume replayed through the server's pauser); a caller
pressing keys all through the prompts; an agent's phone answering and hanging up at once.
Needs no Asterisk: it runs everywhere."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from callcenter.ami.parser import Frame, FrameParser
from callcenter.clock import clock_for
from callcenter.demo.data import generate
from callcenter.demo.run import STOCK_SOUNDS
from callcenter.demo.seed import seed_shop
from callcenter.recording.pause import RecordingPauser
from callcenter.recording.policy import RecordingPolicy
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
from callcenter.simulator import Scenario
from callcenter.simulator.config import SimulatorConfig
from callcenter.simulator.server import PbxSimulator
from callcenter.store.db import open_database
from callcenter.store.migrate import migrate
from tests.helpers.polling import wait_until
from tests.pbx.amiproxy import AmiRecorder
from tests.pbx.bundle import REPO
from tests.pbx.fidelity import (
    ACCEPTED,
    RACES,
    SURVEY_RACES,
    by_role,
    captured_at,
    mutes_from,
    outline,
    outline_from_survey,
    read_capture,
    scenario_from,
)
from tests.pbx.rig import CAPTURES, Agent, make_config
from tests.pbx.test_answered_call import AGENTS as ANSWERED_AGENTS
from tests.pbx.test_bad_input import AGENTS as BAD_INPUT_AGENTS
from tests.pbx.test_scenarios import AGENTS as SCENARIO_AGENTS
from tests.pbx.test_scenarios import RING_TIMEOUT_S

# the simulator's and the server's clock: a higher speed multiplies the server's latencies in
# simulated time, and the presses (timed from answer, as the capture shows them) may miss a menu
SPEED = 2.0


@dataclass(frozen=True)
class Case:
    """A capture and how the real-PBX test that recorded it set the server up: the agents
    (all logged in ready; their phones are read off the capture) and the ring timeout."""

    agents: tuple[Agent, ...]
    ring_timeout_s: int | None = None


CASES = {
    "answered_call": Case(tuple(ANSWERED_AGENTS)),
    "offers_noanswer_busy_unregistered": Case(tuple(SCENARIO_AGENTS[:6]), RING_TIMEOUT_S),
    "abandon_on_hold": Case((), RING_TIMEOUT_S),
    "survey_after_agent": Case(tuple(SCENARIO_AGENTS[8:]), RING_TIMEOUT_S),
    "payment_pause": Case(tuple(SCENARIO_AGENTS[8:]), RING_TIMEOUT_S),
    "hostile_dtmf": Case(tuple(BAD_INPUT_AGENTS[1:]), 6),
    "agent_answers_and_hangs_up": Case(tuple(BAD_INPUT_AGENTS), 6),
}


async def _pause_as_captured(server: Server, pool: asyncpg.Pool, mutes: tuple[tuple[float, bool], ...]) -> None:
    """The agent pauses and resumes the recording as in the capture, through the server's own
    pauser (what ``/api/calls/{id}/recording/pause`` calls), timed from the caller's bridge."""
    if not mutes:
        return
    pauser = RecordingPauser(RecordingPolicy(server.settings.recording.monitor_dir), server.ami.send,
                             pool, server.tracker.calls.get, server.clock.now)
    call = (await wait_until(lambda: [c for c in server.tracker.calls.values() if c.bridged_at is not None],
                             what="the caller bridged to the agent", timeout_s=60))[0]
    assert call.bridged_at is not None
    for after_s, paused in mutes:
        await server.clock.sleep(max(0.0, call.bridged_at + after_s - server.clock.now()))
        assert await pauser.set_paused(call.linkedid, paused, "agent_pause", "sue")


async def _simulated(case: Case, scenario: Scenario, mutes: tuple[tuple[float, bool], ...],
                     db_url: str, work: Path, shop_day: datetime) -> list[Frame]:
    secret = secrets.token_urlsafe(12)
    simulator = PbxSimulator(SimulatorConfig(
        host="127.0.0.1", port=0, secret=secret, time_scale=SPEED, trunk="carrier",
        sound_dirs=(REPO / "asterisk-conf" / "sounds", *STOCK_SOUNDS), recording_dir=work / "rec"))
    port = await simulator.start()
    recorder = AmiRecorder(port).start()
    database = await open_database(DatabaseSettings(url=Secret(db_url), pool_max=4), work)
    try:
        await migrate(database.pool)
        # the shop as the real run had it: its dates (read back to the caller) from that day
        await seed_shop(database.pool, generate(now=shop_day))
        settings = Settings(
            state_dir=work / "state", config_dir=make_config(work, list(case.agents), case.ring_timeout_s, wrap_up_s=1),
            database=DatabaseSettings(url=Secret(db_url)),
            ami=dataclasses.replace(AmiSettings(), port=recorder.port, secret=Secret(secret)),
            http=HttpSettings(port=0),
            recording=RecordingSettings(local_dir=str(work / "rec"), monitor_dir=str(work / "rec"),
                                        grace_s=0.5))
        async with build_server(settings, database, clock_for(SPEED)) as server:
            await server.ami.wait_connected(20)
            for agent in case.agents:
                server.agents.login(agent.login, ready=True)
            await asyncio.sleep(0.5)
            await asyncio.wait_for(asyncio.gather(simulator.run_scenario(scenario),
                                                  _pause_as_captured(server, database.pool, mutes)), 120)
            await _settled(recorder)
    finally:
        recorder.stop()
        await simulator.stop()
        await database.close()
    frames = []
    parser = FrameParser()
    for recorded in recorder.snapshot():
        if recorded.direction == "in":
            frames += [f for f in parser.feed(recorded.frame.encode()) if isinstance(f, Frame)]
    return frames


async def _settled(recorder: AmiRecorder, quiet_s: float = 1.0, limit_s: float = 10.0) -> None:
    """Until no frame has passed the recorder for ``quiet_s`` (the calls' last events and the
    server's answers to them are through, however loaded the loop), ``limit_s`` at most."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    count, changed = len(recorder.snapshot()), loop.time()
    while loop.time() - changed < quiet_s and loop.time() < deadline:
        await asyncio.sleep(0.1)
        now = len(recorder.snapshot())
        if now != count:
            count, changed = now, loop.time()


@pytest.mark.parametrize("capture", sorted(CASES))
async def test_simulator_matches_the_real_pbx(capture: str, new_database: Callable[[], str],
                                              tmp_path: Path) -> None:
    case = CASES[capture]
    real = read_capture(CAPTURES / f"{capture}.jsonl")
    scenario = scenario_from(real, (agent.extension for agent in case.agents))
    expected = by_role(c.frame for c in real if c.direction == "in")
    actual = by_role(await _simulated(case, scenario, mutes_from(real), new_database(), tmp_path,
                                      captured_at(real)))
    assert any(role.startswith("caller") for role in expected), sorted(expected)
    assert not case.agents or any(role.startswith("PJSIP/") for role in expected), sorted(expected)
    assert sorted(actual) == sorted(expected), "the simulator's channels differ from the real PBX's"
    for role in [role for role in expected if (capture, role) in RACES]:
        expected[role], actual[role] = outline(expected[role]), outline(actual[role])
    for role in [role for role in expected if (capture, role) in SURVEY_RACES]:
        expected[role], actual[role] = outline_from_survey(expected[role]), outline_from_survey(actual[role])
    differing = [f"{role}:\n" + "\n".join(_diff(expected[role], actual[role]))
                 for role in sorted(expected) if actual[role] != expected[role]]
    assert not differing, (f"the simulator differs from the real PBX (accepted: {sorted(ACCEPTED)})\n"
                           + "\n".join(differing))


def _diff(a: list[str], b: list[str]) -> list[str]:
    import difflib

    return list(difflib.unified_diff(a, b, "real", "simulator", lineterm="", n=1))
