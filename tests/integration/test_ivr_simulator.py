"""The default after-sales IVR through the PBX simulator: real AMI, AsyncAGI, prompts, lookups."""

from __future__ import annotations

import json
import time
from pathlib import Path

import asyncpg

from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import running_demo
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario

REPO = Path(__file__).resolve().parents[2]


def order_status_caller(data: DemoData) -> tuple[str, str, str]:
    """A standard English-speaking customer whose latest order has a shipment."""
    shipped = {s[0]: s[3] for s in data.shipments}
    for c in data.customers:
        if c[5] != "en" or c[4] != "standard":
            continue
        orders = [o for o in data.orders if o[2] == c[0] and o[0] in shipped]
        if orders:
            return phone_for(c[0]), orders[0][1], shipped[orders[0][0]]
    raise AssertionError("no suitable customer in the demo data")


async def test_order_status_self_service_reads_back_the_shipment_and_records_the_path(
        db_url: str, tmp_path: Path) -> None:
    number, order_number, shipment_status = order_status_caller(generate())

    def scenario(data: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        caller = CallerScript(number=number, name="Self Service", arrival=Arrival(at_s=(0.5,)),
                              behaviour=Behaviour(presses=(Press(4.5, "1"), Press(7.0, order_number)),
                                                  hangup_after_s=40.0))
        return Scenario((caller,), (AgentScript(extension="1001"),), "ivr-test")

    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    async with running_demo(settings, speed=20.0, scenario=scenario) as demo:
        await demo.traffic
        deadline = time.monotonic() + 30
        while demo.server.tracker.live_calls() or demo.simulator.channels():
            assert time.monotonic() < deadline, "the call did not end"
            await demo.server.clock.sleep(2.0)
        await demo.server.clock.sleep(5.0)
        await demo.server.recorder.flush()
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow("SELECT * FROM calls WHERE caller_number = $1", number)
    finally:
        await conn.close()
    assert row is not None and row["state"] == "ended" and row["outcome"] == "ivr_hangup"
    assert row["hangup_by"] == "caller"
    path = json.loads(row["ivr_path"])
    nodes = [step.get("node") for step in path]
    for node in ("identify", "main_menu", "order_number", "find_order", "say_shipment", "after_status"):
        assert node in nodes, (node, nodes)
    context = json.loads(row["context"])
    assert context.get("order.number") == order_number
    assert context.get("shipment.status") == shipment_status
    assert row["digits"].startswith("1" + order_number)
