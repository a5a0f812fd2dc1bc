"""Listen / whisper / barge through the PBX simulator: the real server, AMI over TCP, the IVR,
the router and PostgreSQL. A supervisor's phone is rung into ChanSpy on the agent's channel with
the mode's options; the bad requests get clear errors; the spy legs end with the call; every
session is audited; the spy legs never become calls of their own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from unittest.mock import ANY, patch

import asyncpg
import pytest

from callcenter.ami.messages import Action
from callcenter.simulator import AgentScript, Behaviour
from callcenter.store.users import UserStore
from callcenter.supervision.model import Mode
from callcenter.supervision.service import SupervisionService
from callcenter.web.api_supervision import SUPERVISION
from tests.routing.sim_harness import EN_CUSTOMERS, Harness, agent_entry, caller, phone, running
from tests.supervision.api_client import client

pytestmark = pytest.mark.integration
CAPTURE = Path(__file__).resolve().parents[1] / "data" / "pbx-captures" / "supervision_chanspy.jsonl"
# what the server reads of a spy leg (its AMI user has no dialplan class: no Newexten, VarSet)
SPY_EVENTS = ("Newchannel", "NewCallerid", "NewConnectedLine", "DialBegin", "Newstate", "DialEnd",
              "OriginateResponse", "ChanSpyStart", "ChanSpyStop", "HangupRequest", "SoftHangupRequest",
              "Hangup")

WAIT = 900.0  # simulated seconds (30 s of real time): bounds, not delays
POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 3},
          "skills": {"refunds": {"steps": [{"after_s": 0, "min_level": 1}]}}}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


def supervisor_phone(extension: str) -> AgentScript:
    """A supervisor's desk phone: answers at once (pjsua --auto-answer 200), never hangs up."""
    return AgentScript(extension=extension, behaviour=Behaviour(answer_after_s=0.0))


async def users(h: Harness) -> None:
    store = UserStore(h.server.database.pool)
    await store.create_user("boss", "Boss", "supervisor", "demo")
    await store.create_user("deputy", "Deputy", "supervisor", "demo")
    sam = await h.server.database.pool.fetchval("SELECT id FROM agents WHERE login = 'sam'")
    await store.create_user("agent1", "Sam", "agent", "demo", agent_id=sam)


def spy_legs(events: list[dict[str, str]]) -> dict[str, list[str]]:
    """Each spy leg's events (by the uniqueid the Originate gave it), ``Hangup`` with its cause."""
    legs: dict[str, list[str]] = {}
    for fields in events:
        name = fields.get("Event", "")
        uid = next((fields[k] for k in ("Uniqueid", "DestUniqueid", "SpyerUniqueid")
                    if fields.get(k, "").startswith("spy-")), "")
        if uid and name in SPY_EVENTS:
            legs.setdefault(uid, []).append(f"Hangup {fields.get('Cause')}" if name == "Hangup" else name)
    return legs


def comparable(leg: list[str]) -> tuple[list[str], bool]:
    """A leg's channel events in order, and whether OriginateResponse came between DialBegin and
    ChanSpyStart: Asterisk writes OriginateResponse from the originating thread, before or after
    the channel's Newstate/DialEnd of the same instant (both orders are in real captures)."""
    channel = [name for name in leg if name != "OriginateResponse"]
    where = leg.index("OriginateResponse") if "OriginateResponse" in leg else -1
    return channel, leg.index("DialBegin") < where < leg.index("ChanSpyStart")


def captured_events() -> list[dict[str, str]]:
    frames = [json.loads(line)["frame"] for line in CAPTURE.read_text(encoding="utf-8").splitlines()]
    events = [dict(x.split(": ", 1) for x in f.split("\r\n") if ": " in x) for f in frames]
    return [e for e in events if "Event" in e]


def captured_spy_legs() -> list[list[str]]:
    return list(spy_legs(captured_events()).values())


def mode_switches(events: list[dict[str, str]]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """The digits a spy leg received (PlayDTMF with Receive: true): digit, duration, direction,
    and the event's field names."""
    return [(e["Digit"], e["DurationMs"], e["Direction"], tuple(sorted(e))) for e in events
            if e.get("Event") == "DTMFEnd" and e.get("Uniqueid", "").startswith("spy-")]


def spying(h: Harness) -> list[tuple[str, str, str]]:
    return h.simulator.pbx.spies.spying()


@asynccontextmanager
async def spy_rig(tmp_path: Path, db_url: str, supervisors: tuple[str, ...]
                  ) -> AsyncIterator[tuple[Harness, list[dict[str, str]], str]]:
    """sam (1001) answers and keeps every call; the supervisors' desk phones; the users; every
    AMI event the server reads (their fields); the server's base URL."""
    agents = [agent_entry("sam", "1001", {"refunds": 3})]
    phones = [phone("1001", hangup_after_s=None), *(supervisor_phone(e) for e in supervisors)]
    async with running(tmp_path, db_url, policy=POLICY, agents=agents, phones=phones) as h:
        await users(h)
        seen: list[dict[str, str]] = []
        h.server.ami.subscribe(lambda event: seen.append(dict(event.fields)))
        yield h, seen, f"http://127.0.0.1:{h.server.http_port}"


async def talking_call(h: Harness) -> str:
    """An English customer calls; the call's id once sam talks to them."""
    h.call(caller(EN_CUSTOMERS[0]))
    await h.wait_for(lambda: h.state("sam").value == "talking", WAIT, "sam talking")
    call_id = h.server.engine.agent_status("sam").call_id
    assert call_id, "sam's call"
    return call_id


async def test_given_talking_agent_when_supervisors_listen_whisper_barge_then_chanspy_modes_and_409s(
        fresh_db: str, tmp_path: Path) -> None:
    async with spy_rig(tmp_path, fresh_db, ("1009", "1010")) as (h, seen, base):
        boss, deputy, agent = (await client(base, "boss"), await client(base, "deputy"),
                               await client(base, "agent1"))
        try:
            assert (await boss.call("POST", "/api/supervision/calls/nope/monitor", {"mode": "listen"}))[1][
                "error_id"] == "call_not_found"
            h.call(caller(EN_CUSTOMERS[0]))
            await h.wait_for(lambda: bool(h.server.tracker.live_calls()), WAIT, "the call arrived")
            in_ivr = h.server.tracker.live_calls()[0].linkedid
            status, body = await boss.call("POST", f"/api/supervision/calls/{in_ivr}/monitor", {"mode": "listen"})
            assert (status, body["error_id"]) == (409, "no_agent")
            await h.wait_for(lambda: h.state("sam").value == "talking", WAIT, "sam talking")
            call_id = h.server.engine.agent_status("sam").call_id
            assert call_id == in_ivr
            path = f"/api/supervision/calls/{call_id}/monitor"

            status, body = await agent.call("POST", path, {"mode": "listen"})
            assert (status, body["error_id"]) == (403, "forbidden")
            status, body = await boss.call("POST", path, {"mode": "listen"})
            assert (status, body["error_id"]) == (409, "no_phone")
            status, body = await boss.call("POST", path, {"mode": "eavesdrop"})
            assert (status, body["error_id"]) == (400, "bad_parameter")
            assert (await boss.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1009"}))[0] == 200
            assert (await deputy.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1010"}))[0] == 200
            assert (await boss.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1009,evil"}))[0] == 400

            status, listen = await boss.call("POST", path, {"mode": "listen"})
            assert status == 201 and listen["state"] == "active" and listen["agent_id"] == "sam"
            [(spyer, spyee, options)] = spying(h)
            assert spyer.startswith("PJSIP/1009-") and spyee.startswith("PJSIP/1001-") and options == "qdE"
            status, body = await boss.call("POST", path, {"mode": "listen"})  # a double click
            assert (status, body["error_id"]) == (409, "already_monitoring")

            status, barge = await boss.call("POST", f"/api/supervision/sessions/{listen['id']}/mode",
                                            {"mode": "barge"})
            assert status == 200 and barge["mode"] == "barge" and barge["id"] != listen["id"]
            assert barge["spy_channel"] == listen["spy_channel"]  # the live spy switched: no new leg
            await h.wait_for(lambda: spying(h) == [(spyer, spyee, "qBdE")], WAIT, "barging alone")
            status, body = await deputy.call("POST", path, {"mode": "barge"})
            assert (status, body["error_id"]) == (409, "barge_taken")
            status, whisper = await deputy.call("POST", path, {"mode": "whisper"})
            assert status == 201
            assert sorted(o for _, _, o in spying(h)) == ["qBdE", "qwdE"]
            live = (await boss.call("GET", "/api/supervision/sessions"))[1]["sessions"]
            assert {(s["supervisor"], s["mode"]) for s in live} == {("boss", "barge"), ("deputy", "whisper")}

            status, stopped = await deputy.call("DELETE", f"/api/supervision/sessions/{whisper['id']}")
            assert status == 200 and stopped["end_reason"] == "stopped"
            await h.wait_for(lambda: [o for _, _, o in spying(h)] == ["qBdE"], WAIT, "the whisper leg gone")
            status, body = await deputy.call("DELETE", f"/api/supervision/sessions/{barge['id']}")
            assert (status, body["error_id"]) == (404, "session_not_found")  # not hers

            # the agent hangs up: ChanSpy's E ends the barge leg, the session ends with the call
            agent_leg = h.simulator.pbx.find(spyee)
            assert agent_leg is not None
            h.simulator.pbx.hangups.remote_hangup(agent_leg)
            await h.wait_for(lambda: not spying(h) and not h.server.tracker.live_calls(), WAIT, "call over")
            await h.wait_for(lambda: not h.simulator.channels(), WAIT, "the spy leg hung up")
            assert (await boss.call("GET", "/api/supervision/sessions"))[1]["sessions"] == []
            status, body = await boss.call("POST", path, {"mode": "listen"})
            assert status in (404, 409) and body["error_id"] in ("call_not_found", "call_ended")

            rows = (await boss.call("GET", f"/api/supervision/calls/{call_id}/sessions"))[1]["sessions"]
            assert [(r["supervisor"], r["mode"], r["end_reason"]) for r in rows] == [
                ("boss", "listen", "switched"), ("boss", "barge", "call_ended"),
                ("deputy", "whisper", "stopped")]
            assert all(r["answered_at"] and r["ended_at"] and r["spy_channel"] for r in rows)
        finally:
            for c in (boss, deputy, agent):
                await c.http.close()
        # the simulator's spy legs as Asterisk 22 reports them (the capture of tests/pbx/test_supervision.py):
        # one that ChanSpy's E hung up with the agent's channel (switched on the way), one stopped
        real_stopped, real_with_call = captured_spy_legs()
        legs = list(spy_legs(seen).values())
        assert len(legs) == 2
        assert comparable(legs[0]) == comparable(real_with_call)
        assert comparable(legs[1]) == comparable(real_stopped)
        # the switch to barge: one digit received on the spy leg, reported as Asterisk 22 does
        # (a DTMFEnd at once, no DTMFBegin); the real capture switched twice (whisper, barge)
        real_switches = mode_switches(captured_events())
        assert [d for d, *_ in real_switches] == ["5", "6"]
        assert mode_switches(seen) == [real_switches[1]]
        stored = await h.finish(WAIT)
        assert [r["linkedid"] for r in stored] == [call_id]  # the spy legs are no calls
        audit = await h.server.database.pool.fetch(
            "SELECT actor, action FROM audit_log WHERE action LIKE 'call_monitor%' ORDER BY id")
        assert [(a["actor"], a["action"]) for a in audit] == [
            ("boss", "call_monitor_started"), ("boss", "call_monitor_switched"),
            ("deputy", "call_monitor_started"), ("deputy", "call_monitor_stopped")]


async def test_given_a_supervisor_listening_when_they_press_5_on_their_phone_then_whisper_is_shown_and_audited(
        fresh_db: str, tmp_path: Path) -> None:
    async with spy_rig(tmp_path, fresh_db, ("1009",)) as (h, seen, base):
        boss = await client(base, "boss")
        try:
            assert (await boss.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1009"}))[0] == 200
            call_id = await talking_call(h)
            status, listen = await boss.call("POST", f"/api/supervision/calls/{call_id}/monitor",
                                             {"mode": "listen"})
            assert status == 201
            [(spyer, spyee, _)] = spying(h)
            spy_leg = h.simulator.pbx.find(spyer)
            assert spy_leg is not None
            # the supervisor keys 5 on the desk phone: ChanSpy whispers, the server follows
            h.simulator.pbx.dtmf.receive(spy_leg, "5", 120)
            await h.wait_for(lambda: spying(h) == [(spyer, spyee, "qwdE")], WAIT, "whispering")

            async def shown() -> list[tuple[str, str]]:
                live = (await boss.call("GET", "/api/supervision/sessions"))[1]["sessions"]
                return [(s["mode"], s["spy_channel"]) for s in live]

            for _ in range(200):
                if await shown() == [("whisper", spyer)]:
                    break
                await asyncio.sleep(0.05)  # the switch is stored after ChanSpy's (a poll, not a delay)
            assert await shown() == [("whisper", spyer)]
            rows = (await boss.call("GET", f"/api/supervision/calls/{call_id}/sessions"))[1]["sessions"]
            assert [(r["mode"], r["end_reason"]) for r in rows] == [("listen", "switched"), ("whisper", None)]
            assert rows[0]["id"] == listen["id"]
        finally:
            await boss.http.close()
        # what a phone's key looks like on the spy leg (as on Asterisk 22: begin, then end, received)
        keyed = [(e["Event"], e["Digit"], e["Direction"]) for e in seen
                 if e.get("Event", "").startswith("DTMF") and e.get("Channel") == spyer]
        assert keyed == [("DTMFBegin", "5", "Received"), ("DTMFEnd", "5", "Received")]
        audit = await h.server.database.pool.fetch(
            "SELECT actor, action, detail FROM audit_log WHERE action LIKE 'call_monitor%' ORDER BY id")
        assert [(a["actor"], a["action"]) for a in audit] == [
            ("boss", "call_monitor_started"), ("boss", "call_monitor_switched")]
        detail = audit[1]["detail"]
        assert (json.loads(detail) if isinstance(detail, str) else detail)["by"] == "phone"


async def test_given_a_deputy_barging_when_the_supervisor_keys_6_then_chanspy_goes_back_to_listening(
        fresh_db: str, tmp_path: Path) -> None:
    async with spy_rig(tmp_path, fresh_db, ("1009", "1010")) as (h, seen, base):
        boss, deputy = await client(base, "boss"), await client(base, "deputy")
        try:
            assert (await boss.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1009"}))[0] == 200
            assert (await deputy.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1010"}))[0] == 200
            call_id = await talking_call(h)
            path = f"/api/supervision/calls/{call_id}/monitor"
            assert (await deputy.call("POST", path, {"mode": "barge"}))[0] == 201
            status, listen = await boss.call("POST", path, {"mode": "listen"})
            assert status == 201
            [(barger, spyee, _), (spyer, _, _)] = spying(h)
            spy_leg = h.simulator.pbx.find(spyer)
            assert spy_leg is not None and spyer == listen["spy_channel"]
            # the supervisor keys 6: ChanSpy barges, the server gives it the 4 back
            h.simulator.pbx.dtmf.receive(spy_leg, "6", 120)
            await h.wait_for(lambda: [(e["Event"], e["Digit"]) for e in seen if e.get("Channel") == spyer
                                      and e.get("Event") == "DTMFEnd"] == [("DTMFEnd", "6"), ("DTMFEnd", "4")],
                             WAIT, "the 4 given back")
            assert spying(h) == [(barger, spyee, "qBdE"), (spyer, spyee, "qdE")]
            live = (await boss.call("GET", "/api/supervision/sessions"))[1]["sessions"]
            assert {(s["supervisor"], s["mode"]) for s in live} == {("deputy", "barge"), ("boss", "listen")}
            assert listen["id"] in {s["id"] for s in live}
        finally:
            await boss.http.close()
            await deputy.http.close()
        audit = await h.server.database.pool.fetch(
            "SELECT actor, action, detail FROM audit_log WHERE action LIKE 'call_monitor%' ORDER BY id")
        assert [(a["actor"], a["action"]) for a in audit] == [
            ("deputy", "call_monitor_started"), ("boss", "call_monitor_started"),
            ("boss", "call_monitor_switch_refused")]
        detail = audit[2]["detail"]
        assert (json.loads(detail) if isinstance(detail, str) else detail)["error_id"] == "barge_taken"
        assert h.server.metrics.registry.get_sample_value(
            "callcenter_caught_failures_total", {"where": "supervision_phone_barge_refused"}) == 1


def racing_barge(service: SupervisionService, db_url: str) -> Callable[..., Awaitable[int]]:
    """The store's ``open`` with a real race in PostgreSQL: as a barge row is written, another
    writer's barge row on the same call is being inserted and commits first, so the unique index
    refuses ours (what the in-memory check could not see)."""
    real_open = service.store.open

    async def open_row(supervisor: str, call_id: str, agent_id: str, mode: Mode, phone: str,
                       at: float, live: list[int]) -> int:
        if mode is not Mode.BARGE:
            return await real_open(supervisor, call_id, agent_id, mode, phone, at, live)
        side = await asyncpg.connect(db_url)
        try:
            other = side.transaction()
            await other.start()
            await side.execute("INSERT INTO supervision_sessions (supervisor, call_id, agent_id, mode, phone,"
                               " started_at) VALUES ('deputy', $1, $2, 'barge', 'PJSIP/1010', now())",
                               call_id, agent_id)
            mine = asyncio.create_task(real_open(supervisor, call_id, agent_id, mode, phone, at, live))
            await asyncio.sleep(0.5)  # ours waits on the other's uncommitted row
            await other.commit()
            return await mine
        finally:
            await side.close()

    return open_row


async def test_given_a_barge_keyed_on_the_phone_lost_to_a_database_race_then_the_spy_listens_again_and_is_told(
        fresh_db: str, tmp_path: Path) -> None:
    async with spy_rig(tmp_path, fresh_db, ("1009",)) as (h, seen, base):
        service = h.server.http.app[SUPERVISION]
        boss = await client(base, "boss")
        try:
            assert (await boss.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1009"}))[0] == 200
            call_id = await talking_call(h)
            status, listen = await boss.call("POST", f"/api/supervision/calls/{call_id}/monitor", {"mode": "listen"})
            assert status == 201
            [(spyer, spyee, _)] = spying(h)
            spy_leg = h.simulator.pbx.find(spyer)
            assert spy_leg is not None
            with patch.object(service.store, "open", racing_barge(service, fresh_db)):
                h.simulator.pbx.dtmf.receive(spy_leg, "6", 120)  # the supervisor keys 6: ChanSpy barges
                await h.wait_for(lambda: [e["Digit"] for e in seen if e.get("Channel") == spyer
                                          and e.get("Event") == "DTMFEnd"] == ["6", "4"], WAIT, "the 4 given back")
                await h.wait_for(lambda: any(s.note for s in service.sessions()), WAIT, "the refusal noted")
            assert spying(h) == [(spyer, spyee, "qdE")]  # listening again, on the same phone call
            assert h.simulator.pbx.find(spyer) is not None
            assert not [e for e in seen if e.get("Event") == "Hangup" and e.get("Channel") == spyer]
            [mine] = (await boss.call("GET", "/api/supervision/sessions"))[1]["sessions"]
            assert (mine["mode"], mine["note"], mine["state"]) == ("listen", "barge_taken", "active")
            assert mine["id"] != listen["id"] and mine["spy_channel"] == spyer
            board = (await boss.call("GET", "/api/wallboard"))[1]["supervision"]
            assert [(s["supervisor"], s["mode"], s["note"]) for s in board] == [("boss", "listen", "barge_taken")]
        finally:
            await boss.http.close()
        audit = await h.server.database.pool.fetch(
            "SELECT actor, action FROM audit_log WHERE action LIKE 'call_monitor%' ORDER BY id")
        assert [(a["actor"], a["action"]) for a in audit] == [("boss", "call_monitor_started"),
                                                              ("boss", "call_monitor_switch_refused")]
        assert h.server.metrics.registry.get_sample_value(
            "callcenter_caught_failures_total", {"where": "supervision_phone_barge_refused"}) == 1
        assert h.server.metrics.registry.get_sample_value(
            "callcenter_caught_failures_total", {"where": "supervision_phone_switch_not_recorded"}) is None


async def test_given_a_spy_left_when_the_link_dropped_then_it_is_hung_up_by_its_uniqueid_and_the_call_goes_on(
        fresh_db: str, tmp_path: Path) -> None:
    """The server hangs up a spy it could not while the link was down by the uniqueid its
    Originate gave it (the simulator, as Asterisk 22, takes a uniqueid for a channel name)."""
    async with spy_rig(tmp_path, fresh_db, ("1009",)) as (h, seen, base):
        boss = await client(base, "boss")
        try:
            assert (await boss.call("PUT", "/api/supervision/phone", {"phone": "PJSIP/1009"}))[0] == 200
            call_id = await talking_call(h)
            status, _ = await boss.call("POST", f"/api/supervision/calls/{call_id}/monitor",
                                        {"mode": "listen"})
            assert status == 201
        finally:
            await boss.http.close()
        [(spyer, _, _)] = spying(h)
        leg = h.simulator.pbx.find(spyer)
        assert leg is not None and leg.uniqueid.startswith("spy-")
        assert h.simulator.pbx.find(leg.uniqueid) is leg
        service = h.server.http.app[SUPERVISION]
        sent: list[Action] = []
        h.server.ami.observe_actions(lambda action, action_id, at: sent.append(action))
        await service.on_link("down")  # as when the link drops: the session ends, the spy is left
        assert service.sessions() == [] and spying(h) == [(spyer, ANY, ANY)]
        await service.on_link("up")
        await h.wait_for(lambda: spying(h) == [], WAIT, "the spy hung up")
        gone = [e for e in seen if e.get("Event") == "Hangup" and e.get("Uniqueid") == leg.uniqueid]
        assert [e["Channel"] for e in gone] == [spyer]
        assert [a.header("Channel") for a in sent if a.name == "Hangup"] == [leg.uniqueid]
        assert h.state("sam").value == "talking"  # only the spy went
