"""Callbacks in the tracker: the agent's phone rung into ``cc-callback``, then the dialplan dials
the customer. The event shapes are those of the real PBX (``tests/data/pbx-captures/callback_*``):
the agent channel appears in the endpoint's context, the carrier leg shares its Linkedid."""

from __future__ import annotations

from callcenter.ami import messages
from callcenter.ami.messages import AmiEvent
from callcenter.ami.parser import Frame
from callcenter.calls.events import (
    AgentHungUp,
    Bridged,
    CallbackFailed,
    CallbackStarted,
    CallEnded,
    CallEvent,
    CallUpdated,
)
from callcenter.calls.model import Direction, HangupBy, OfferResult, Outcome, Side
from callcenter.calls.tracker import CallTracker

AGENT_UID, AGENT = "1700000100.1", "PJSIP/1031-00000001"
CUSTOMER_UID, CUSTOMER = "1700000100.2", "PJSIP/carrier-00000002"
ORIGINAL = "1700000000.9"


def ev(at: float, name: str, **fields: str) -> AmiEvent:
    headers = {"Event": name, **fields}
    raw = "\r\n".join(f"{k}: {v}" for k, v in headers.items())
    return AmiEvent(Frame(headers, raw), at)


def agent(at: float, name: str, **fields: str) -> AmiEvent:
    return ev(at, name, Channel=AGENT, Uniqueid=AGENT_UID, Linkedid=AGENT_UID, **fields)


def customer(at: float, name: str, **fields: str) -> AmiEvent:
    return ev(at, name, Channel=CUSTOMER, Uniqueid=CUSTOMER_UID, Linkedid=AGENT_UID, **fields)


class Run:
    """A tracker fed one step at a time; ``kinds`` are the event names it produced so far."""

    def __init__(self) -> None:
        self.tracker = CallTracker()
        self.out: list[CallEvent] = []

    def action(self, at: float, action_id: str = "cb-1") -> None:
        originate = messages.Originate(
            "PJSIP/1031", context="cc-callback", exten="s", priority=1, caller_id="Callback",
            variables={"CC_CALLBACK": ORIGINAL, "CC_CALLBACK_NUMBER": "8613900000001",
                       "CC_CALLBACK_RING": "10"})
        self.out += self.tracker.apply_action(originate.action(), action_id, at)

    def feed(self, *events: AmiEvent) -> None:
        for event in events:
            self.out += self.tracker.apply_event(event)

    @property
    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.out if not isinstance(e, CallUpdated)]


def agent_answers(run: Run) -> None:
    run.action(0.0)
    run.feed(agent(0.01, "Newchannel", Context="agents", ChannelStateDesc="Down"),
             agent(0.5, "Newstate", Context="agents", ChannelStateDesc="Up"),
             customer(0.6, "Newchannel", Context="inbound", ChannelStateDesc="Down"),
             agent(0.6, "DialBegin", Context="cc-callback", DestChannel=CUSTOMER,
                   DestUniqueid=CUSTOMER_UID))


def hang_up(run: Run, at: float, cause: str, first: str = "agent") -> None:
    legs = [customer, agent] if first == "customer" else [agent, customer]
    run.feed(legs[0](at, "HangupRequest", Cause=cause))
    run.feed(*(leg(at, "Hangup", Cause=cause) for leg in legs))


def test_an_answered_callback_is_the_agent_calling_the_customer() -> None:
    run = Run()
    agent_answers(run)
    run.feed(customer(2.0, "Newstate", ChannelStateDesc="Up"),
             agent(2.0, "DialEnd", DestChannel=CUSTOMER, DestUniqueid=CUSTOMER_UID, DialStatus="ANSWER"),
             customer(2.0, "BridgeEnter", BridgeUniqueid="b1"),
             agent(2.0, "BridgeEnter", BridgeUniqueid="b1"))
    hang_up(run, 9.0, "16", first="customer")
    call = run.tracker.calls[AGENT_UID]
    assert run.kinds == ["CallbackStarted", "AgentRinging", "AgentAnswered", "CustomerDialed",
                         "Bridged", "CallerHungUp", "AgentHungUp", "CallEnded"]
    started = next(e for e in run.out if isinstance(e, CallbackStarted))
    assert (started.callback_of, started.number, started.agent_channel) == (ORIGINAL, "8613900000001", AGENT)
    assert call.direction is Direction.CALLBACK and call.callback_of == ORIGINAL
    assert call.caller is not None and call.caller.channel == CUSTOMER
    assert call.agent is not None and call.agent.channel == AGENT and call.agent.answered_at == 0.5
    assert (call.answered_at, call.bridged_at) == (2.0, 2.0)
    assert (call.outcome, call.hangup_by) == (Outcome.ANSWERED, HangupBy.CALLER)
    record = call.to_record()
    assert (record["direction"], record["callback_of"], record["caller_channel"]) == \
        ("callback", ORIGINAL, CUSTOMER)


def test_a_busy_customer_is_a_failed_callback_not_an_ivr_hangup() -> None:
    run = Run()
    agent_answers(run)
    run.feed(agent(0.7, "DialEnd", DestChannel=CUSTOMER, DestUniqueid=CUSTOMER_UID, DialStatus="BUSY"))
    hang_up(run, 0.8, "17", first="customer")
    failed = [e for e in run.out if isinstance(e, CallbackFailed)]
    assert [(e.party, e.result, e.cause) for e in failed] == [(Side.CALLER, OfferResult.BUSY, 17)]
    ended = [e for e in run.out if isinstance(e, CallEnded)]
    assert [(e.outcome, e.hangup_by, e.cause) for e in ended] == [(Outcome.FAILED, HangupBy.CALLER, 17)]
    assert any(isinstance(e, AgentHungUp) for e in run.out)
    call = run.tracker.calls[AGENT_UID]
    assert call.answered_at is None and call.callback_of == ORIGINAL


def test_a_customer_who_does_not_answer_is_a_failed_callback_ended_by_the_ring_timeout() -> None:
    run = Run()
    agent_answers(run)
    run.feed(agent(10.6, "DialEnd", DestChannel=CUSTOMER, DestUniqueid=CUSTOMER_UID,
                   DialStatus="NOANSWER"))
    run.feed(customer(10.6, "Hangup", Cause="16"), agent(10.7, "Hangup", Cause="16"))
    failed = [e for e in run.out if isinstance(e, CallbackFailed)]
    assert [(e.party, e.result) for e in failed] == [(Side.CALLER, OfferResult.NO_ANSWER)]
    call = run.tracker.calls[AGENT_UID]
    assert (call.outcome, call.hangup_by) == (Outcome.FAILED, HangupBy.SYSTEM)


def test_an_agent_who_never_answers_fails_the_callback_before_the_customer_is_dialled() -> None:
    run = Run()
    run.action(0.0)
    run.feed(agent(0.01, "Newchannel", Context="agents", ChannelStateDesc="Down"),
             agent(0.02, "Newstate", Context="agents", ChannelStateDesc="Ringing"),
             agent(10.0, "Hangup", Context="agents", Cause="19"))
    assert run.kinds == ["CallbackStarted", "AgentRinging", "CallbackFailed", "CallEnded"]
    failed = next(e for e in run.out if isinstance(e, CallbackFailed))
    assert (failed.party, failed.result, failed.cause) == (Side.AGENT, OfferResult.NO_ANSWER, 19)
    call = run.tracker.calls[AGENT_UID]
    assert (call.outcome, call.hangup_by, call.caller) == (Outcome.FAILED, HangupBy.SYSTEM, None)
    assert call.to_record()["agent_channel"] == AGENT


def test_the_agent_hanging_up_first_ends_an_answered_callback_by_the_agent() -> None:
    run = Run()
    agent_answers(run)
    run.feed(customer(2.0, "Newstate", ChannelStateDesc="Up"),
             customer(2.0, "BridgeEnter", BridgeUniqueid="b1"),
             agent(2.0, "BridgeEnter", BridgeUniqueid="b1"))
    hang_up(run, 5.0, "16", first="agent")
    call = run.tracker.calls[AGENT_UID]
    assert (call.outcome, call.hangup_by, call.hangup_cause) == (Outcome.ANSWERED, HangupBy.AGENT, 16)


def test_an_originate_into_another_context_or_without_the_original_call_is_no_callback() -> None:
    tracker = CallTracker()
    plain = messages.Originate("PJSIP/1031", context="cc-callback", exten="s", priority=1)
    other = messages.Originate("PJSIP/1031", context="elsewhere", exten="s", priority=1,
                               variables={"CC_CALLBACK": ORIGINAL})
    for i, originate in enumerate((plain, other)):
        assert tracker.apply_action(originate.action(), f"x-{i}", 0.0) == []
    tracker.apply_event(agent(0.01, "Newchannel", Context="agents", ChannelStateDesc="Down"))
    assert tracker.calls[AGENT_UID].direction is Direction.INBOUND


def test_a_callback_whose_phone_made_no_channel_is_not_confused_with_the_next_offer() -> None:
    run = Run()
    run.action(0.0, "cb-gone")
    run.feed(ev(0.1, "OriginateResponse", ActionID="cb-gone", Response="Failure", Reason="0",
                Channel="PJSIP/1031", Context="cc-callback"))
    caller_uid, caller_chan = "1700000000.1", "PJSIP/carrier-00000001"
    run.feed(ev(1.0, "Newchannel", Channel=caller_chan, Uniqueid=caller_uid, Linkedid=caller_uid,
                Context="inbound", ChannelStateDesc="Ring"))
    offer = messages.Originate("PJSIP/1031", application="Bridge", data=f"{caller_chan},p",
                               variables={"CC_CALL": caller_uid})
    run.out += run.tracker.apply_action(offer.action(), "offer-1", 2.0)
    run.feed(agent(2.1, "Newchannel", Context="agents", ChannelStateDesc="Down"))
    assert run.tracker.call_key_for_uniqueid(AGENT_UID) == caller_uid
    assert not any(isinstance(e, CallbackStarted) for e in run.out)


def listed_callback() -> list[AmiEvent]:
    """``CoreShowChannels`` during an answered callback (a restarted server asks for it)."""
    return [ev(30.0, "CoreShowChannel", Channel=AGENT, Uniqueid=AGENT_UID, Linkedid=AGENT_UID,
               Context="cc-callback", Exten="s", ChannelStateDesc="Up", Application="Dial",
               ApplicationData="PJSIP/8613900000001@carrier,10", BridgeId="b1", Duration="00:00:20"),
            ev(30.0, "CoreShowChannel", Channel=CUSTOMER, Uniqueid=CUSTOMER_UID, Linkedid=AGENT_UID,
               Context="inbound", Exten="s", ChannelStateDesc="Up", Application="AppDial",
               CallerIDNum="8613900000001", BridgeId="b1", Duration="00:00:15")]


def test_a_callback_found_by_a_restarted_server_is_rebuilt_as_the_agent_calling_the_customer() -> None:
    tracker = CallTracker()
    out = tracker.rebuild(listed_callback(), [], now=30.0)
    call = tracker.calls[AGENT_UID]
    assert call.direction is Direction.CALLBACK
    assert call.caller is not None and call.caller.channel == CUSTOMER and call.caller.side is Side.CALLER
    assert call.agent is not None and call.agent.channel == AGENT and call.agent.side is Side.AGENT
    assert call.bridged_at is not None and call.to_record()["state"] == "talking"
    kinds = [type(e).__name__ for e in out if not isinstance(e, CallUpdated)]
    assert kinds == ["CallbackStarted", "Bridged"]  # never a caller arriving at the IVR
    bridged = out[-1]
    assert isinstance(bridged, Bridged) and bridged.agent_channel == AGENT
    # the customer hangs up after the restart: the callback ends as an answered callback
    run = Run()
    run.tracker = tracker
    hang_up(run, 40.0, "16", first="customer")
    assert run.kinds == ["CallerHungUp", "AgentHungUp", "CallEnded"]
    assert (call.outcome, call.hangup_by) == (Outcome.ANSWERED, HangupBy.CALLER)
