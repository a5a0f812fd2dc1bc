"""Callbacks that keep the caller's place, on the real PBX with SIP phones.

Five callers wait for the general queue with no agent ready; the routing policy's callback step
is reached and each hears the offer between two stretches of hold music; the third to arrive
takes it (1, then # for the number they call from) and hangs up. Then the agent becomes ready:
the calls are served in arrival order with the callback third, and for it the agent's phone
rings first, then the customer's phone (a pjsua phone reached through the carrier endpoint)
rings and is connected. A customer whose phone is busy is tried again after the policy's
interval, then the callback becomes a ticket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.pbx.amiclient import Seen, TestAmi
from tests.pbx.bundle import Bundle
from tests.pbx.carrier import CARRIER_PORT, carrier_reachable, customer_phone
from tests.pbx.ivrcaller import caller_channel, linkedid_of, on_channel, press_at, through_menus
from tests.pbx.overlay import OverlaySpec
from tests.pbx.rig import Agent, Rig, running_rig

AGENTS = [Agent("cleo", "1031", {"general": 5})]
MENU = [("choose-language", "1"), ("main-menu", "0")]
OFFER_AFTER_S = 12
RETRY_S = 5
POLICY = {"steps": [{"after_s": 0}, {"after_s": OFFER_AFTER_S, "offer_callback": True}],
          "callback_attempts": 2, "callback_retry_s": RETRY_S, "callback_ring_s": 10,
          "wrap_up_s": 0}


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-callbacks"), db_url, AGENTS,
                     spec=OverlaySpec(carrier_port=CARRIER_PORT), ring_timeout_s=10,
                     survey=False) as running:
        yield running


async def use_policy(rig: Rig) -> None:
    """The shipped policy with a short callback step for general (reloaded, no restart)."""
    path = rig.work / "config" / "routing.yaml"
    policy = yaml.safe_load(path.read_text(encoding="utf-8"))
    policy["skills"]["general"] = POLICY
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    admin = await rig.web("admin")
    try:
        await admin.post("/api/routing/reload")
    finally:
        await admin.close()


async def agent_state_when(rig: Rig, login: str, state: str, timeout_s: float) -> dict[str, Any]:
    """The agent's routing state once it is ``state``, or as it is after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await rig.agent_state(login)
        if found["state"] == state or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


class Caller:
    def __init__(self, rig: Rig, ami: TestAmi, number: str) -> None:
        self.rig, self.ami, self.number = rig, ami, number
        self.since = time.time()
        self.phone = rig.caller(number)
        self.channel = self.linkedid = ""

    async def queue(self) -> Caller:
        self.channel = await caller_channel(self.ami, self.number, self.since)
        self.linkedid = await linkedid_of(self.ami, self.channel)
        await through_menus(self.ami, self.phone, self.channel, MENU, self.since)
        await self.ami.wait(on_channel("AGIExecStart", self.channel, "MusicOnHold"),
                            20, f"hold music on {self.channel}", self.since)
        return self

    async def take_callback(self) -> None:
        await press_at(self.ami, self.phone, self.channel, "callback-offer", "1", self.since,
                       timeout_s=OFFER_AFTER_S + 30)
        await press_at(self.ami, self.phone, self.channel, "callback-enter-number", "#", self.since)
        await self.phone.wait_state("DISCONNECTED", 30)  # thanked, then hung up by the IVR

    async def offer_heard(self) -> None:
        await self.ami.wait(on_channel("AGIExecStart", self.channel, "callback-offer"),
                            OFFER_AFTER_S + 30, f"callback offer on {self.channel}", self.since)


async def row(rig: Rig, sql: str, *args: Any, timeout_s: float = 60.0,
              until: Any = lambda r: r is not None) -> Any:
    conn = await rig.db()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            found = await conn.fetchrow(sql, *args)
            if until(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout_s}s: {sql} {args} -> {found and dict(found)}")
            await asyncio.sleep(0.3)
    finally:
        await conn.close()


def first(ami: TestAmi, since: float, match: Any) -> Seen:
    found = ami.find(match, since)
    assert found, "event not seen"
    return found[0]


async def test_five_waiting_third_takes_callback_served_third_agent_rung_first(rig: Rig) -> None:
    await use_policy(rig)
    ami = await rig.ami()
    try:
        customer = customer_phone(rig, "200")
        callers = []
        for i in range(5):
            callers.append(await Caller(rig, ami, f"+86139111600{i + 1:02d}").queue())
        third = callers[2]
        await third.take_callback()
        await asyncio.gather(*(c.offer_heard() for c in callers if c is not third))
        kept = await row(rig, "SELECT * FROM callbacks WHERE call_linkedid = $1", third.linkedid,
                         until=lambda r: r is not None and r["status"] == "waiting")
        assert kept["number"] == "8613911160003", dict(kept)
        since = time.time()
        agent = rig.agent_phone("cleo", mode="answer", talk_s=4)
        await carrier_reachable(ami, customer)
        await rig.wait_registered("1031")
        await rig.ready("cleo")
        await customer.wait_state("DISCONNECTED", 90)
        for caller in callers:
            if caller is not third:
                await caller.phone.wait_state("DISCONNECTED", 90)
        done = await row(rig, "SELECT * FROM callbacks WHERE call_linkedid = $1", third.linkedid,
                         until=lambda r: r is not None and r["status"] == "completed")
        assert (done["attempts"], done["agent_login"]) == (1, "cleo"), dict(done)
        answered = [(await rig.call_row(c.linkedid))["answered_at"] for c in callers if c is not third]
        assert all(a is not None for a in answered), answered
        served = sorted([*((a.timestamp(), c.number) for a, c in
                           zip(answered, [c for c in callers if c is not third], strict=True)),
                         (done["connected_at"].timestamp(), third.number)])
        assert [n for _, n in served] == [c.number for c in callers], served
        # the agent's phone is rung first; the customer's leg is dialled once the agent answered
        agent_up = first(ami, since, lambda e: e.frame.event == "OriginateResponse"
                         and e.get("Context") == "cc-callback" and e.get("Response") == "Success")
        dial = first(ami, since, lambda e: e.frame.event == "DialBegin"
                     and e.get("DestChannel").startswith("PJSIP/carrier-"))
        end = first(ami, since, lambda e: e.frame.event == "DialEnd"
                    and e.get("DestChannel").startswith("PJSIP/carrier-"))
        assert agent_up.at <= dial.at and end.get("DialStatus") == "ANSWER"
        assert dial.get("Channel").startswith("PJSIP/1031-")
        assert customer.count("CONFIRMED") == 1 and agent.count("CONFIRMED") == 5
        # the callback is a call of its own: the agent calling the customer back, linked to the
        # caller's original call, the customer's carrier leg as its customer party
        callback = await rig.call_row(done["callback_linkedid"])
        assert (callback["direction"], callback["callback_of"], callback["outcome"]) == (
            "callback", third.linkedid, "answered"), callback
        assert callback["caller_channel"].startswith("PJSIP/carrier-"), callback
        assert callback["agent_channel"].startswith("PJSIP/1031-"), callback
        assert callback["answered_at"] is not None and callback["bridged_at"] is not None
        original = await rig.call_row(third.linkedid)
        assert (original["direction"], original["callback_of"]) == ("inbound", None), original
        recorded = await row(rig, "SELECT count(*) AS n FROM recordings r JOIN calls c"
                                  " ON c.id = r.call_id WHERE c.linkedid = $1",
                             done["callback_linkedid"], until=lambda r: r is not None and r["n"] == 3)
        assert recorded["n"] == 3
        rig.capture("callback_kept_place", since)
    finally:
        await ami.close()
        await rig.offline("cleo")
        rig.stop_phones()


async def test_busy_customer_retried_then_ticketed(rig: Rig) -> None:
    await use_policy(rig)
    ami = await rig.ami()
    try:
        customer = customer_phone(rig, "486")
        caller = await Caller(rig, ami, "+8613911170001").queue()
        await caller.take_callback()
        since = time.time()
        rig.agent_phone("cleo", mode="answer", talk_s=20)
        await carrier_reachable(ami, customer)
        await rig.wait_registered("1031")
        await rig.ready("cleo")
        failed = await row(rig, "SELECT * FROM callbacks WHERE call_linkedid = $1", caller.linkedid,
                           until=lambda r: r is not None and r["status"] == "failed", timeout_s=90)
        assert (failed["attempts"], failed["last_result"]) == (2, "busy"), dict(failed)
        ticket = await row(rig, "SELECT * FROM tickets WHERE id = $1", failed["ticket_id"])
        assert (ticket["kind"], ticket["callback_number"]) == ("callback", "8613911170001")
        ends = ami.find(lambda e: e.frame.event == "DialEnd"
                        and e.get("DestChannel").startswith("PJSIP/carrier-"), since)
        assert [e.get("DialStatus") for e in ends] == ["BUSY", "BUSY"]
        assert ends[1].at - ends[0].at >= RETRY_S
        assert customer.count("CONFIRMED") == 0
        state = await rig.agent_state("cleo")
        assert state["state"] == "ready" and state["call_id"] is None, state
        # each attempt is a failed callback call of the original one (no IVR hang-up, no abandon)
        attempts = await row(rig, "SELECT array_agg(outcome ORDER BY arrived_at) AS outcomes,"
                                  " array_agg(direction) AS directions,"
                                  " count(*) FILTER (WHERE answered_at IS NULL"
                                  "  AND caller_channel LIKE 'PJSIP/carrier-%') AS unreached"
                                  " FROM calls WHERE callback_of = $1 AND state = 'ended'",
                             caller.linkedid,
                             until=lambda r: r is not None and r["outcomes"] is not None
                             and len(r["outcomes"]) == 2)
        assert attempts["outcomes"] == ["failed", "failed"], dict(attempts)
        assert attempts["directions"] == ["callback", "callback"] and attempts["unreached"] == 2
        rig.capture("callback_busy_ticket", since)
    finally:
        await ami.close()
        await rig.offline("cleo")
        rig.stop_phones()


async def test_server_restarted_while_a_callback_talks_keeps_it_a_callback(rig: Rig) -> None:
    """The server is killed while the agent and the customer talk on a callback and started
    again: the rebuilt call is the outbound callback it was (the agent's phone its agent, the
    customer's carrier leg its customer, linked to the original call), routing has the agent
    talking on it, and when it ends its callback row is completed and the agent is free."""
    await use_policy(rig)
    ami = await rig.ami()
    try:
        # neither phone hangs up by itself: a restart under load may take longer than any talk
        customer = customer_phone(rig, "200", talk_s=None)
        # a number of its own: the busy-customer test's caller has an open ticket by now, and a
        # known caller's IVR may skip the language menu
        caller = await Caller(rig, ami, "+8613911170002").queue()
        await caller.take_callback()
        agent = rig.agent_phone("cleo", mode="answer")
        await carrier_reachable(ami, customer)
        await rig.wait_registered("1031")
        await rig.ready("cleo")
        connected = await row(rig, "SELECT * FROM callbacks WHERE call_linkedid = $1", caller.linkedid,
                              until=lambda r: r is not None and r["status"] == "connected"
                              and r["callback_linkedid"])
        await asyncio.sleep(2.0)
        rig.deployment.server.kill()
        await asyncio.sleep(2.0)
        rig.deployment.server.start()
        await rig.deployment.wait_healthy(60)
        live = await rig.call_row(connected["callback_linkedid"], ended=False)
        assert (live["direction"], live["callback_of"]) == ("callback", caller.linkedid), live
        assert live["caller_channel"].startswith("PJSIP/carrier-"), live
        assert live["agent_channel"].startswith("PJSIP/1031-"), live
        # routing agrees with the call record: cleo talks on the callback (not paused "restored")
        cleo = await agent_state_when(rig, "cleo", "talking", 15)
        assert (cleo["state"], cleo["call_id"]) == ("talking", connected["callback_linkedid"]), cleo
        assert customer.count("DISCONNECTED") == 0 and agent.count("DISCONNECTED") == 0, "the restart cut the call"
        customer.hangup()  # the customer hangs up after talking
        await customer.wait_state("DISCONNECTED", 15)
        await agent.wait_state("DISCONNECTED", 15)
        # the talk's end as after any talk: general's wrap-up is 0 s here, so ready again
        cleo = await agent_state_when(rig, "cleo", "ready", 15)
        assert (cleo["state"], cleo["call_id"]) == ("ready", None), cleo
        done = await row(rig, "SELECT * FROM callbacks WHERE call_linkedid = $1", caller.linkedid,
                         until=lambda r: r is not None and r["status"] == "completed")
        assert done["ended_at"] is not None and done["agent_login"] == "cleo", dict(done)
        ended = await rig.call_row(connected["callback_linkedid"])
        assert (ended["direction"], ended["callback_of"], ended["outcome"]) == (
            "callback", caller.linkedid, "answered"), ended
        assert ended["caller_channel"].startswith("PJSIP/carrier-"), ended
        assert ended["agent_channel"].startswith("PJSIP/1031-"), ended
    finally:
        await ami.close()
        await rig.offline("cleo")
        rig.stop_phones()
