"""Load through the real PBX: 60 SIP calls at once from the carrier's address, 30 agents' SIP
phones (eight pjsua processes of up to four accounts), all through the shipped IVR (VIP callers, whom
the IVR recognises by number and sends straight to senior agents, so nobody needs to press
keys), MixMonitor on every answered call, the survey after every agent hang-up. No Local
channels. Every call must be answered and stored as ended (0 lost) and no agent may be left
talking or offered (0 stuck)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.pbx.amiclient import Seen
from tests.pbx.bundle import Bundle
from tests.pbx.phones import did_uri
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig
from tests.pbx.test_faults import nobody_stuck

AGENT_COUNT = 30
# this pjsua build holds at most 4 calls (PJSUA_MAX_CALLS) and 8 accounts per process
PER_PHONE = 4        # agents' accounts per pjsua process
CALLERS = 15         # pjsua processes on the carrier side
CALLS_EACH = 4       # calls per caller process
TALK_S = 15
AGENTS = [Agent(f"load{n:02d}", str(1100 + n), {"vip": 4, "general": 3}) for n in range(1, AGENT_COUNT + 1)]
NUMBERS = [f"+86139330000{n:02d}" for n in range(1, CALLERS + 1)]


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-load"), db_url, AGENTS, wrap_up_s=1) as running:
        yield running


async def test_sixty_concurrent_calls_thirty_agent_phones_none_lost_none_stuck(rig: Rig) -> None:
    conn = await rig.db()
    try:  # the callers are VIP customers of the shop
        await conn.executemany("INSERT INTO customers (phone, name, tier, language) VALUES ($1, $2, 'vip', 'en')",
                               [(n, f"Load caller {n}") for n in NUMBERS])
    finally:
        await conn.close()
    ami = await rig.ami()
    try:
        groups = [rig.agent_group(f"agents-{g}", [a.login for a in AGENTS[g:g + PER_PHONE]],
                                  play=LAB_RECORDINGS / "agent-greet.wav", talk_s=TALK_S)
                  for g in range(0, AGENT_COUNT, PER_PHONE)]
        for agent in AGENTS:
            await rig.wait_registered(agent.extension, 30)
        await rig.ready(*[a.login for a in AGENTS])
        since = time.time()
        callers = [rig.caller(number, dial=False, max_calls=CALLS_EACH,
                              play=LAB_RECORDINGS / "customer-refund.wav") for number in NUMBERS]
        await asyncio.sleep(1.0)
        uri = did_uri("4001", rig.pbx.spec.sip_port)
        for _ in range(CALLS_EACH):
            for caller in callers:
                caller.call(uri)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
        total = CALLERS * CALLS_EACH

        def carrier_legs(e: Seen) -> bool:
            return e.get("Channel").startswith("PJSIP/carrier-") and e.frame.event in ("Newchannel", "Hangup")

        # every caller's phone is hung up after the survey gave up on them
        deadline = time.monotonic() + 150
        while sum(c.count("DISCONNECTED") for c in callers) < total:
            assert time.monotonic() < deadline, (
                f"{sum(c.count('DISCONNECTED') for c in callers)} of {total} calls over; "
                f"answered by agents: {sum(g.count('CONFIRMED') for g in groups)}; callers left "
                f"in silence:\n{rig.pbx.cli('core show channels')}\n"
                f"{[line for line in rig.deployment.server.tail(400).splitlines() if 'agi_unavailable' in line]}")
            await asyncio.sleep(1.0)
        live = peak = 0
        for seen in ami.find(carrier_legs, since):
            live += 1 if seen.frame.event == "Newchannel" else -1
            peak = max(peak, live)
        assert peak >= 60, f"only {peak} calls were live at once"
        assert sum(g.count("CONFIRMED") for g in groups) == total

        conn = await rig.db()
        try:
            deadline = time.monotonic() + 60
            while True:
                rows = await conn.fetch("SELECT state, outcome, agent_id FROM calls WHERE arrived_at >= "
                                        "to_timestamp($1)", since - 1)
                ended = [r for r in rows if r["state"] == "ended"]
                if len(ended) == total:
                    break
                assert time.monotonic() < deadline, f"{len(ended)} of {total} calls stored as ended ({len(rows)} stored)"
                await asyncio.sleep(1.0)
        finally:
            await conn.close()
        lost = [dict(r) for r in rows if r["outcome"] != "answered" or r["agent_id"] is None]
        assert not lost, f"{len(lost)} calls lost: {lost[:5]}"
        await nobody_stuck(rig, 30)
        stats = await (await rig.web("supervisor")).get("/api/routing/stats")
        assert stats["waiting"] == 0, stats
    finally:
        await ami.close()
        rig.stop_phones()
