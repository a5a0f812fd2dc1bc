"""Callbacks from the router's decision to the AMI actions, the stored rows and the ticket:
the agent is rung first into ``[cc-callback]``, the customer's leg is read off DialEnd, a
failed leg is retried after the policy's interval and the last one becomes a ticket."""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.agents.model import AgentState
from callcenter.calls.events import Bridged, CallEnded
from callcenter.calls.model import Call, CallState, Direction, HangupBy, Outcome
from callcenter.routing import events as ev
from callcenter.routing.decisions import DialCallback
from tests.callbacks.rig import Rig
from tests.routing.helpers import call


async def waiting_callback(pool: asyncpg.Pool, call_id: str) -> Rig:
    rig = Rig(pool)
    rig.engine.submit(ev.CallEnqueued(call(call_id, "general", language="zh"), rig.now))
    rig.at(rig.now + 61)
    assert [o.call_id for o in rig.offers_heard] == [call_id]
    rig.adapter.take(call_id, "13800000001")
    return rig


async def test_given_caller_takes_callback_then_row_keeps_place_and_agent_rung_into_context(
        pool: asyncpg.Pool) -> None:
    rig = await waiting_callback(pool, "cb-1")
    row = await rig.row("cb-1")
    assert (row["status"], row["number"], row["enqueued_at"], row["waited_s"]) == (
        "waiting", "13800000001", 1_000_000.0, 60.0)
    rig.engine.submit(ev.AgentLoggedIn("ann", rig.now, ready=True))
    await rig.adapter.wait_idle()
    (originate,) = rig.originates()
    headers = dict(originate.headers)
    assert (headers["Channel"], headers["Context"], headers["Exten"], headers["Timeout"]) == (
        "PJSIP/ann", "cc-callback", "s", "15000")
    assert [v for k, v in originate.headers if k == "Variable"] == [
        "CC_CALLBACK=cb-1", "CC_CALLBACK_NUMBER=13800000001", "CC_CALLBACK_RING=25",
        "CC_AGENT=ann", "TRANSFER_CONTEXT=cc-transfer"]
    (pop,) = rig.ringing  # the agent's screen: a callback, its number, the caller's wait
    assert (pop.call_id, pop.agent_id, pop.caller_number) == ("cb-1", "ann", "13800000001")
    assert pop.callback is not None
    assert (pop.callback["number"], pop.callback["attempt"], pop.callback["waited_s"]) == (
        "13800000001", 1, 61.0)
    assert pop.callback["accepted_at"] is not None and pop.callback["ivr_path"] == []


async def test_given_customer_answers_then_connected_and_completed_with_link(pool: asyncpg.Pool) -> None:
    rig = await waiting_callback(pool, "cb-2")
    rig.engine.submit(ev.AgentLoggedIn("ann", rig.now, ready=True))
    await rig.agent_answers()
    assert rig.engine.agent_status("ann").state is AgentState.TALKING
    rig.event("DialEnd", Channel="PJSIP/ann-00000001", DestChannel="PJSIP/carrier-00000002",
              DialStatus="ANSWER")
    assert (await rig.row("cb-2"))["status"] == "connected"
    rig.at(rig.now + 90)
    rig.event("Hangup", Channel="PJSIP/ann-00000001", Cause="16")
    row = await rig.row("cb-2")
    assert (row["status"], row["attempts"], row["agent_login"], row["callback_linkedid"]) == (
        "completed", 1, "ann", "cb.1")
    assert rig.engine.agent_status("ann").state is AgentState.WRAP_UP


async def test_given_customer_busy_twice_then_retried_after_interval_then_ticket(
        pool: asyncpg.Pool) -> None:
    rig = await waiting_callback(pool, "cb-3")
    rig.engine.submit(ev.AgentLoggedIn("ann", rig.now, ready=True))
    await rig.agent_answers()
    rig.event("DialEnd", Channel="PJSIP/ann-00000001", DialStatus="BUSY")
    rig.event("Hangup", Channel="PJSIP/ann-00000001", Cause="16")  # after a failed leg: ignored
    assert rig.engine.agent_status("ann").state is AgentState.READY  # freed at once
    row = await rig.row("cb-3")
    assert (row["status"], row["attempts"], row["last_result"]) == ("waiting", 1, "busy")
    rig.at(rig.now + 59)
    assert len(rig.originates()) == 1  # not before the interval
    rig.at(rig.now + 1)
    await rig.agent_answers("PJSIP/ann-00000003")
    dials = [d for d in rig.decisions if isinstance(d, DialCallback)]
    assert [d.attempt for d in dials] == [1, 2]
    rig.event("DialEnd", Channel="PJSIP/ann-00000003", DialStatus="NOANSWER")
    row = await rig.row("cb-3")
    assert (row["status"], row["attempts"], row["last_result"]) == ("failed", 2, "no_answer")
    ticket = await pool.fetchrow("SELECT kind, callback_number, subject FROM tickets WHERE id = $1",
                                 row["ticket_id"])
    assert (ticket["kind"], ticket["callback_number"]) == ("callback", "13800000001")
    assert "2 attempts" in ticket["subject"]
    assert rig.engine.agent_status("ann").state is AgentState.READY
    assert rig.engine.call_status("cb-3") is None


@pytest.mark.parametrize(("fields", "state", "reason"), [
    ({"Reason": "3"}, AgentState.PAUSED, "missed"),
    ({"Reason": "0", "cause": "17"}, AgentState.PAUSED, "phone_busy"),
    ({"Reason": "0"}, AgentState.READY, ""),  # no channel at all: unregistered
])
async def test_given_agent_leg_fails_then_agent_reacts_per_policy_and_callback_keeps_place(
        pool: asyncpg.Pool, fields: dict[str, str], state: AgentState, reason: str) -> None:
    rig = await waiting_callback(pool, f"cb-4-{fields.get('cause', fields['Reason'])}")
    rig.engine.submit(ev.AgentLoggedIn("ann", rig.now, ready=True))
    await rig.adapter.wait_idle()
    if "cause" in fields:
        rig.event("Newchannel", Channel="PJSIP/ann-00000009")
        rig.event("Hangup", Channel="PJSIP/ann-00000009", Cause=fields["cause"])
    rig.event("OriginateResponse", ActionID="t-1", Response="Failure", Channel="PJSIP/ann",
              Context="cc-callback", Reason=fields["Reason"])
    status = rig.engine.agent_status("ann")
    assert (status.state, status.reason) == (state, reason)
    view = rig.engine.call_status(rig.offers_heard[0].call_id)
    assert view is not None and view.status in ("waiting", "offered")


async def test_given_open_callbacks_stored_when_server_restarts_then_queued_again_in_order(
        pool: asyncpg.Pool) -> None:
    first = Rig(pool, now=2_000_000.0)
    for i, call_id in enumerate(["rs-1", "rs-2"]):
        first.engine.submit(ev.CallEnqueued(call(call_id, "general"), first.now + i))
    first.at(first.now + 70)
    first.adapter.take("rs-2", "5550102")
    first.adapter.take("rs-1", "5550101")
    await first.adapter.wait_idle()
    second = Rig(pool, now=2_000_500.0)
    assert await second.adapter.restore() >= 2
    order = [v.call_id for v in second.engine.waiting_calls()]
    assert order.index("rs-1") < order.index("rs-2")  # the arrival order, not the taking order
    calls = second.engine.router.book.calls
    assert (calls["rs-1"].enqueued_at, calls["rs-2"].enqueued_at) == (2_000_000.0, 2_000_001.0)
    second.engine.submit(ev.CallEnqueued(call("rs-new", "general"), second.now))
    assert [v.call_id for v in second.engine.waiting_calls()][-1] == "rs-new"
    second.engine.submit(ev.AgentLoggedIn("ann", second.now, ready=True))
    dial = next(d for d in second.decisions if isinstance(d, DialCallback))
    assert dial.call_id == order[0] and dial.attempt == 1


async def test_given_bad_number_then_refused_and_nothing_queued(pool: asyncpg.Pool) -> None:
    rig = Rig(pool)
    rig.engine.submit(ev.CallEnqueued(call("bad-1", "general"), rig.now))
    for number in ("", "12", "555;Dial(x)", "1" * 21, "+86 138"):
        with pytest.raises(ValueError, match="not a number"):
            rig.adapter.take("bad-1", number)
    assert rig.engine.router.book.calls["bad-1"].callback is None


async def test_given_originate_refused_then_agent_not_blamed_twice_and_callback_waits(
        pool: asyncpg.Pool) -> None:
    rig = await waiting_callback(pool, "cb-5")
    rig.refuse = True
    rig.engine.submit(ev.AgentLoggedIn("ann", rig.now, ready=True))
    await rig.adapter.wait_idle()
    status = rig.engine.agent_status("ann")
    assert (status.state, status.reason) == (AgentState.PAUSED, "offer_failed")
    view = rig.engine.call_status("cb-5")
    assert view is not None and view.status == "waiting"


async def test_given_link_lost_while_connected_when_back_and_channel_gone_then_talk_ended(
        pool: asyncpg.Pool) -> None:
    rig = await waiting_callback(pool, "cb-6")
    rig.engine.submit(ev.AgentLoggedIn("ann", rig.now, ready=True))
    await rig.agent_answers()
    rig.event("DialEnd", Channel="PJSIP/ann-00000001", DialStatus="ANSWER")
    rig.adapter.on_link("down")
    rig.adapter.on_link("up")  # Status lists no channel: the legs ended while the link was down
    await rig.adapter.wait_idle()
    assert rig.sent[-1].name == "Status"
    assert rig.engine.agent_status("ann").state is AgentState.WRAP_UP
    assert (await rig.row("cb-6"))["status"] == "completed"


async def test_given_a_restart_while_a_callback_talks_when_its_call_ends_then_the_row_is_completed(
        pool: asyncpg.Pool) -> None:
    first = await waiting_callback(pool, "cb-rs")
    first.engine.submit(ev.AgentLoggedIn("ann", first.now, ready=True))
    await first.agent_answers()
    first.event("DialEnd", Channel="PJSIP/ann-00000001", DestChannel="PJSIP/carrier-00000002",
                DialStatus="ANSWER")
    assert (await first.row("cb-rs"))["status"] == "connected"
    second = Rig(pool, now=first.now + 30)  # the server restarted; the rebuild found the call
    found = Call("cb.1", first.now, state=CallState.TALKING, direction=Direction.CALLBACK,
                 callback_of="cb-rs")
    second.calls["cb.1"] = found
    second.adapter.on_call_event(Bridged("cb.1", second.now, "PJSIP/ann-00000001", "cb.1", "", True,
                                         second.now))
    second.adapter.on_call_event(CallEnded("cb.2", second.now, Outcome.ANSWERED, HangupBy.CALLER, 16,
                                           None))  # another call's end changes nothing
    assert (await second.row("cb-rs"))["status"] == "connected"
    second.adapter.on_call_event(CallEnded("cb.1", second.now + 60, Outcome.ANSWERED, HangupBy.CALLER,
                                           16, None))
    row = await second.row("cb-rs")
    assert row["status"] == "completed" and row["ended_at"] is not None


async def test_given_a_taken_callback_then_its_skill_is_read_back_by_the_original_call(
        pool: asyncpg.Pool) -> None:
    """What a restarted server reads for a callback it finds talking (its wrap-up skill)."""
    rig = await waiting_callback(pool, "cb-sk")
    await rig.adapter.wait_idle()
    assert await rig.store.skills(["cb-sk", "cb-none"]) == {"cb-sk": "general"}
    assert await rig.store.skills([]) == {}
