"""The simulator as a service: scenarios end to end, the command line, hostile clients."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ami import messages
from callcenter.simulator import (
    AgentScript,
    Arrival,
    Behaviour,
    CallerScript,
    PbxSimulator,
    Press,
    Scenario,
    SimulatorConfig,
)
from tests.simulator.lab import make_sounds
from tests.simulator.support import CallControl, running

REPO = Path(__file__).parents[2]


async def test_given_poisson_callers_and_a_server_when_scenario_runs_then_every_call_ends(
        tmp_path: Path) -> None:
    sounds = make_sounds(tmp_path / "sounds")
    callers = (
        CallerScript("13800000001", "Patient", arrival=Arrival((), 12.0, 60.0, seed=3),
                     behaviour=Behaviour(presses=(Press(1.6, "2"),), patience_s=30)),
        CallerScript("13800000002", "Hasty", arrival=Arrival((0.5, 1.0)),
                     behaviour=Behaviour(patience_s=0.5)),
    )
    agents = (AgentScript("1001", behaviour=Behaviour(answer_after_s=1, hangup_after_s=4)),)
    async with running(tmp_path, sounds, None, 100) as lab:
        control = CallControl(lab, record=False)
        control.start()
        await asyncio.wait_for(lab.sim.run_scenario(Scenario(callers, agents)), 30)
        await lab.idle()
        calls = [c for c in lab.tracker.calls.values() if c.caller_uniqueid]
        assert len(calls) >= 6 and all(not c.live for c in calls)
        assert {c.outcome.value for c in calls if c.outcome} <= {"answered", "abandoned", "ivr_hangup",
                                                                 "failed"}
        assert lab.sim.channels() == [] and lab.sim.bridges() == []


def test_command_line_runs_the_example_scenario_and_reports_bad_ones(tmp_path: Path) -> None:
    config = tmp_path / "sim.toml"
    config.write_text('[simulator]\nport = 0\nsecret = "x"\ntime_scale = 200\n'
                      'recording_dir = "rec"\n', encoding="utf-8")
    scenario = tmp_path / "s.yaml"
    scenario.write_text('callers:\n  - {number: "1", arrival: {at_s: [0, 1]}, patience_s: 2}\n',
                        encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "callcenter.simulator", "--config", str(config),
                           "--scenario", str(scenario), "--exit-when-done"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "AMI listening on 127.0.0.1:" in done.stdout and "scenario finished" in done.stdout
    scenario.write_text("callers:\n  - {number: abc}\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "callcenter.simulator", "--scenario", str(scenario)],
                         capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "callers[0].number" in bad.stderr


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(max_size=300) | st.sampled_from([
    b"Action: Originate\r\nChannel: Local/4001@inbound/n\r\nExten: 1\r\nAsync: true\r\n\r\n",
    b"Action: AGI\r\nChannel: \r\nCommand: ANSWER\r\n\r\n",
    b"Action: Hangup\r\nChannel: Local/4001@inbound-00000000;2\r\nCause: x\r\n\r\n",
    b"Action: MixMonitor\r\nChannel: Local/4001@inbound-00000000;2\r\nOptions: r(\r\n\r\n",
    b"Action: Bridge\r\nChannel1: Local/4001@inbound-00000000;2\r\nChannel2: nope\r\n\r\n",
    b"\r\n\r\n", b"Action: \r\n\r\n", b"\xff\xfe\r\n\r\n",
]), max_size=12))
def test_given_any_bytes_from_a_client_then_the_server_survives(chunks: list[bytes]) -> None:
    async def scenario() -> None:
        sim = PbxSimulator(SimulatorConfig(port=0, secret="s", time_scale=50,
                                           recording_dir=Path(tempfile.gettempdir()) / "sim-fuzz"))
        port = await sim.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"Action: Login\r\nUsername: callcenter\r\nSecret: s\r\n\r\n")
            for chunk in chunks:
                writer.write(chunk)
            writer.write(b"\r\n\r\nAction: Ping\r\nActionID: alive\r\n\r\n")
            data = b""
            while b"ActionID: alive\r\nPing: Pong" not in data:
                chunk = await asyncio.wait_for(reader.read(65536), 5)
                assert chunk, data[-300:]
                data += chunk
            writer.close()
            await sim.sleep(1.0)
        finally:
            await sim.stop()

    asyncio.run(scenario())


async def test_given_a_client_that_never_reads_then_other_clients_are_still_served(
        tmp_path: Path) -> None:
    sounds = make_sounds(tmp_path / "sounds")
    async with running(tmp_path, sounds, None, 50) as lab:
        reader, writer = await asyncio.open_connection("127.0.0.1", lab.sim.port)
        writer.write(b"Action: Login\r\nUsername: callcenter\r\nSecret: lab-secret\r\n\r\n")
        caller = CallerScript("13800000001", behaviour=Behaviour(patience_s=0.2))
        for _ in range(20):
            lab.sim.place_call(caller)
        await lab.idle()
        response = await lab.client.send(messages.ping())
        assert response.ok
        writer.close()
        del reader
