"""The answered call on the real PBX, end to end: a SIP caller dials in through the carrier's
address, goes through the shipped IVR with RFC 4733 DTMF (language, main menu, order number,
read-back of the order's status), is routed to the agent with the skill, whose screen pops on
/ws/agent while the phone rings; MixMonitor writes the per-speaker files, the call is stored with
its outcome, agent, IVR path and recordings, and becomes a transcript and a QA score."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.helpers.polling import wait_until
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, on_channel, press_at
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig, wav_rms, wav_seconds

AGENTS = [Agent("olga", "1001", {"orders": 4, "general": 3}),
          Agent("rafa", "1002", {"refunds": 5, "general": 3})]
UNKNOWN_CALLER = "+8613911110001"  # not a shop customer: the IVR asks for the language


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-answered"), db_url, AGENTS,
                     workers=True) as running:
        yield running


async def order_with_shipment(rig: Rig) -> str:
    conn = await rig.db()
    try:
        return str(await conn.fetchval(
            "SELECT o.order_number FROM orders o JOIN shipments s ON s.order_id = o.id "
            "WHERE length(o.order_number) = 8 ORDER BY o.id LIMIT 1"))
    finally:
        await conn.close()


async def test_answered_call_through_ivr_routed_popped_recorded_transcribed_scored(
        rig: Rig, tmp_path: Path) -> None:
    order = await order_with_shipment(rig)
    ami = await rig.ami()
    olga_ws = None
    web = await rig.web("olga")
    try:
        olga = rig.agent_phone("olga", mode="ring", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=12)
        rafa = rig.agent_phone("rafa", mode="ring")
        for agent in AGENTS:
            await rig.wait_registered(agent.extension)
        await rig.ready("olga", "rafa")
        olga_ws = await web.session.ws_connect(rig.deployment.url.replace("http", "ws") + "/ws/agent",
                                                headers={"Origin": rig.deployment.url})
        pops: list[tuple[float, dict[str, object]]] = []

        async def listen() -> None:
            async for message in olga_ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    pops.append((time.time(), json.loads(message.data)))

        listener = asyncio.create_task(listen())
        since = time.time()
        heard = tmp_path / "caller-heard.wav"
        caller = rig.caller(UNKNOWN_CALLER, play=LAB_RECORDINGS / "customer-refund.wav", record=heard)
        channel = await caller_channel(ami, UNKNOWN_CALLER, since)
        await press_at(ami, caller, channel, "choose-language", "1", since)
        await press_at(ami, caller, channel, "main-menu", "1", since)
        await press_at(ami, caller, channel, "enter-order-number", order, since)
        status = await ami.wait(on_channel("AGIExecStart", channel, "order-status-is"),
                                30, "read-back of the order status", since)
        await press_at(ami, caller, channel, "after-status-menu", "0", since)

        ringing = await olga.wait_state("EARLY", 30)
        # she picks up once the pop is on her screen (well within the 15 s ring timeout)
        popped = await wait_until(lambda: [m for _, m in pops if m.get("type") == "pop"],
                                  what="a pop on olga's /ws/agent while her phone rings", timeout_s=10,
                                  detail=lambda: pops)
        call_id = popped[0]["call_id"]
        assert olga.count("CONFIRMED") == 0 and olga.count("DISCONNECTED") == 0, "no longer ringing"
        olga.answer()
        answered = await olga.wait_state("CONFIRMED", 10)
        assert answered.at > ringing.at
        await olga.wait_state("DISCONNECTED", 30)  # she hangs up after 12 s
        await asyncio.sleep(1.0)
        caller.hangup()
        await caller.wait_state("DISCONNECTED", 10)
        assert rafa.count("EARLY") == 0, "the refunds agent was offered an orders call"

        conn = await rig.db()
        try:
            deadline = time.monotonic() + 30
            while True:
                row = await conn.fetchrow("SELECT * FROM calls WHERE linkedid = $1", call_id)
                if row is not None and row["state"] == "ended":
                    break
                assert time.monotonic() < deadline, f"call not ended: {row and dict(row)}"
                await asyncio.sleep(0.3)
            assert row["outcome"] == "answered"
            agent_id = await conn.fetchval("SELECT id FROM agents WHERE login = 'olga'")
            assert row["agent_id"] == agent_id
            assert row["agent_channel"].startswith("PJSIP/1001-")
            assert row["caller_channel"] == channel
            nodes = [step.get("node") for step in json.loads(row["ivr_path"])]
            for node in ("language_menu", "main_menu", "order_number", "find_order", "after_status",
                         "to_orders"):
                assert node in nodes, f"{node} missing from the IVR path {nodes}"
            assert row["answered_at"] is not None
            queued_at = row["queued_at"]

            deadline = time.monotonic() + 60
            while True:
                recs = await conn.fetch("SELECT * FROM recordings WHERE call_id = $1", row["id"])
                if len(recs) == 3 and all(r["status"] == "final" for r in recs):
                    break
                assert time.monotonic() < deadline, f"recordings not final: {[dict(r) for r in recs]}"
                await asyncio.sleep(0.5)
            kinds = {r["kind"]: r for r in recs}
            assert set(kinds) == {"mixed", "customer", "agent"}
            for rec in recs:
                assert rec["duration_s"] > 8, dict(rec)
            # the agent's greeting is in the agent's file, the caller's speech in the customer's
            assert wav_rms(Path(kinds["agent"]["path"])) > 200
            assert wav_rms(Path(kinds["customer"]["path"])) > 200

            deadline = time.monotonic() + 120
            while True:
                transcript = await conn.fetchrow("SELECT * FROM transcripts WHERE call_id = $1", row["id"])
                score = await conn.fetchrow("SELECT * FROM qa_results WHERE call_id = $1", row["id"])
                if transcript is not None and score is not None:
                    break
                assert time.monotonic() < deadline, (
                    f"transcript {transcript is not None}, score {score is not None}\n"
                    f"{rig.deployment.asr.tail(10)}\n{rig.deployment.qa.tail(10)}")
                await asyncio.sleep(1.0)
            assert await conn.fetchval("SELECT count(*) FROM utterances WHERE call_id = $1", row["id"]) > 0
            assert score["total"] is not None and 0 <= score["total"] <= 100
        finally:
            await conn.close()

        # the caller heard the read-back: its phone's recording is not silent while the
        # status prompts played (recording starts when the call is answered)
        answer = await ami.wait(lambda e: e.frame.event == "Newstate" and e.get("Channel") == channel
                                and e.get("ChannelStateDesc") == "Up", 5, "caller answered", since)
        end = await ami.wait(on_channel("AGIExecEnd", channel, "after-status-menu"),
                             5, "end of the after-status menu", since)
        caller.stop()  # pjsua completes the WAV header when it closes the file
        start_s = status.at - answer.at
        assert wav_seconds(heard) > start_s + 2
        assert wav_rms(heard, start_s, start_s + 2.0) > 100, "silence where the status was read back"
        del end
        rig.capture("answered_call", since)
        listener.cancel()
        # KPIs measure ASA and service level from this instant
        assert queued_at is not None, "calls.queued_at empty for a call the router offered"
    finally:
        if olga_ws is not None:
            await olga_ws.close()
        await web.close()
        await ami.close()
        await rig.offline("olga", "rafa")
        rig.stop_phones()
