"""FIDELITY from the real PBX: the answered call recorded on the real Asterisk 22
(``tests/data/pbx-captures/answered_call.jsonl``, the server's own AMI link) against the same
call on the PBX simulator with the same server; per channel the same events in the same order,
but for the differences listed (with their reasons) in :data:`tests.pbx.fidelity.ACCEPTED`.
Needs no Asterisk: it runs everywhere."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Callable
from pathlib import Path

from callcenter.ami.parser import Frame, FrameParser
from callcenter.clock import clock_for
from callcenter.demo.run import STOCK_SOUNDS
from callcenter.demo.seed import seed_shop
from callcenter.server.build import build_server
from callcenter.settings import (
    AmiSettings,
    DatabaseSettings,
    HttpSettings,
    RecordingSettings,
    Secret,
    Settings,
)
from callcenter.simulator.config import SimulatorConfig
from callcenter.simulator.server import PbxSimulator
from callcenter.store.db import open_database
from callcenter.store.migrate import migrate
from tests.pbx.amiproxy import AmiRecorder
from tests.pbx.bundle import REPO
from tests.pbx.fidelity import ACCEPTED, by_role, caller_channel, read_capture, scenario_from
from tests.pbx.rig import CAPTURES, make_config
from tests.pbx.test_answered_call import AGENTS

SPEED = 3.0


async def _simulated(scenario_and_number: tuple[object, str], db_url: str, work: Path) -> list[Frame]:
    scenario, _number = scenario_and_number
    secret = secrets.token_urlsafe(12)
    simulator = PbxSimulator(SimulatorConfig(
        host="127.0.0.1", port=0, secret=secret, time_scale=SPEED, trunk="carrier",
        sound_dirs=(REPO / "asterisk-conf" / "sounds", *STOCK_SOUNDS), recording_dir=work / "rec"))
    port = await simulator.start()
    recorder = AmiRecorder(port).start()
    database = await open_database(DatabaseSettings(url=Secret(db_url), pool_max=4), work)
    try:
        await migrate(database.pool)
        await seed_shop(database.pool)
        settings = Settings(
            state_dir=work / "state", config_dir=make_config(work, AGENTS, wrap_up_s=1),
            database=DatabaseSettings(url=Secret(db_url)),
            ami=dataclasses.replace(AmiSettings(), port=recorder.port, secret=Secret(secret)),
            http=HttpSettings(port=0),
            recording=RecordingSettings(local_dir=str(work / "rec"), monitor_dir=str(work / "rec"),
                                        grace_s=0.5))
        async with build_server(settings, database, clock_for(SPEED)) as server:
            await server.ami.wait_connected(20)
            server.agents.login("olga", ready=True)
            await asyncio.sleep(0.5)
            await asyncio.wait_for(simulator.run_scenario(scenario), 120)  # type: ignore[arg-type]
            await asyncio.sleep(1.0)
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


async def test_answered_call_on_simulator_matches_the_real_pbx(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    real = read_capture(CAPTURES / "answered_call.jsonl")
    caller = caller_channel(real)
    scenario = scenario_from(real, "1001")
    simulated = await _simulated(scenario, new_database(), tmp_path)
    sim_caller = next(f.get("Channel") for f in simulated
                      if f.event == "Newchannel" and f.get("Context") == "inbound")
    expected = by_role((c.frame for c in real if c.direction == "in"), caller, "PJSIP/1001-")
    actual = by_role(simulated, sim_caller, "PJSIP/1001-")
    assert set(expected) == {"caller", "agent"}
    for role in ("caller", "agent"):
        assert actual.get(role) == expected[role], (
            f"{role}: the simulator differs from the real PBX (accepted: {sorted(ACCEPTED)})\n"
            + "\n".join(_diff(expected[role], actual.get(role, []))))


def _diff(a: list[str], b: list[str]) -> list[str]:
    import difflib

    return list(difflib.unified_diff(a, b, "real", "simulator", lineterm="", n=1))
