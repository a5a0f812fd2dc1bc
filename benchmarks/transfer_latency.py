"""Transfer latency on the real Asterisk 22: from the agent's click (``POST
/api/calls/{id}/control`` with ``transfer``) to the target agent's phone ringing, against a
baseline measured in the same run on the same phone: a plain AMI ``Originate`` to it.

Each transfer: a caller dials in, goes through the shipped IVR to the general queue, agent A
answers, clicks Transfer to refunds; the server sends ``BlindTransfer``, the caller re-enters
AsyncAGI in ``[cc-transfer]``, the server routes it and Originates agent B, whose SIP phone (pjsua,
answering at once) reports the incoming call (its first call state, CONNECTING: the INVITE
arrived; an auto-answering phone skips EARLY); B answers and ends the call. The baseline: the
time from sending an ``Originate`` of B's phone to the same state. Both are read on this machine's
clock. Prints one JSON line.

    .venv/bin/python benchmarks/transfer_latency.py [--transfers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pbx.amiclient import TestAmi, event
from tests.pbx.bench import ADMIN_HELP, ADMIN_URL, run_benchmark, scratch
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, linkedid_of, through_menus
from tests.pbx.phones import Phone, did_uri
from tests.pbx.rig import Agent, Rig, running_rig
from tests.pbx.server import Web

AGENTS = [Agent("bena", "1061", {"general": 5}), Agent("benb", "1062", {"refunds": 5})]
NUMBER = "+8613911160001"
RINGING = "CONNECTING"  # the phone's first state of an incoming call it answers at once


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def progress(message: str) -> None:
    print(f"transfer_latency: {message}", file=sys.stderr, flush=True)


async def ready_again(rig: Rig, *logins: str) -> None:
    deadline = time.monotonic() + 60
    while any(state != "ready" for state in [(await rig.agent_state(login))["state"]
                                             for login in logins]):
        if time.monotonic() > deadline:
            raise AssertionError(f"{logins} not ready again")
        await asyncio.sleep(0.2)


async def one_transfer(rig: Rig, ami: TestAmi, web: Web, caller: Phone, target: Phone,
                       n: int) -> float:
    since = time.time()
    caller.call(did_uri("4001", rig.pbx.spec.sip_port))
    channel = await caller_channel(ami, NUMBER, since)
    call_id = await linkedid_of(ami, channel)
    await caller.wait_state("CONFIRMED", 10, count=n)
    await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
    await ami.wait(event("BridgeEnter", Channel="PJSIP/1061-"), 30, "A bridged", since)
    await asyncio.sleep(1.0)
    clicked = time.time()
    async with web.session.post(f"{web.base}/api/calls/{call_id}/control",
                                json={"action": "transfer", "skill": "refunds"},
                                headers={"X-CSRF-Token": web.csrf}) as response:
        if response.status != 200:
            raise AssertionError(f"transfer refused: {response.status} {await response.text()}")
    ringing = await target.wait_state(RINGING, 30, count=n)
    await caller.wait_state("DISCONNECTED", 60, count=n)
    return ringing.at - clicked


async def baseline(ami: TestAmi, target: Phone, first: int, count: int) -> list[float]:
    out = []
    for n in range(first, first + count):
        sent = time.time()
        await ami.send({"Action": "Originate", "Channel": "PJSIP/1062", "Application": "Wait",
                        "Data": "1", "Async": "true"})
        ringing = await target.wait_state(RINGING, 30, count=n)
        out.append(ringing.at - sent)
        await target.wait_state("DISCONNECTED", 30, count=n)
    return out


async def run(bundle: Bundle, db_url: str, work: Path, transfers: int) -> dict[str, object]:
    with running_rig(bundle, work, db_url, AGENTS, wrap_up_s=1, survey=False) as rig:
        ami = await rig.ami()
        web = await rig.web("bena")
        try:
            rig.agent_phone("bena", mode="answer", talk_s=120)
            target = rig.agent_phone("benb", mode="answer", talk_s=1)
            for agent in AGENTS:
                await rig.wait_registered(agent.extension)
            await rig.ready("bena", "benb")
            caller = rig.caller(NUMBER, dial=False)
            await asyncio.sleep(0.5)
            clicks = []
            for n in range(1, transfers + 1):
                clicks.append(await one_transfer(rig, ami, web, caller, target, n))
                progress(f"transfer {n}: {clicks[-1] * 1000:.0f} ms")
                await ready_again(rig, "bena", "benb")
            await rig.offline("bena", "benb")
            plain = await baseline(ami, target, transfers + 1, transfers)
        finally:
            await web.close()
            await ami.close()
    return {"benchmark": "transfer_latency", "transfers": len(clicks),
            "click_to_ringing_p50_ms": round(statistics.median(clicks) * 1000, 1),
            "click_to_ringing_p95_ms": round(percentile(clicks, 0.95) * 1000, 1),
            "baseline_originate_p50_ms": round(statistics.median(plain) * 1000, 1),
            "baseline_originate_p95_ms": round(percentile(plain, 0.95) * 1000, 1),
            "overhead_p50_ms": round((statistics.median(clicks) - statistics.median(plain)) * 1000, 1)}


async def with_database(args: argparse.Namespace, bundle: Bundle) -> dict[str, object]:
    async with scratch(args.database, "transfer") as (db_url, work):
        return await run(bundle, db_url, work, args.transfers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=8)
    parser.add_argument("--database", default=ADMIN_URL,
                        help=ADMIN_HELP)
    args = parser.parse_args()
    return run_benchmark("transfer_latency", lambda bundle: with_database(args, bundle))


if __name__ == "__main__":
    sys.exit(main())
