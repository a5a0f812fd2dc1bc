"""The offer adapter against real Asterisk 22 traffic: the lab captures are replayed through the
real call tracker; where the lab client sent the agent's Originate, the router decides and the
adapter sends it instead (a fake AMI sender hands it to the tracker with the recorded ActionID)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from callcenter.agents.model import AgentState
from callcenter.ami.messages import Action, AmiEvent, AmiResponse, Originate
from callcenter.ami.parser import Frame
from callcenter.calls.events import CallEvent
from callcenter.calls.tracker import CallTracker
from callcenter.routing import events as ev
from callcenter.routing.decisions import AgentStateChanged, CancelOffer, Decision, Offer
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferAdapter, OfferRinging
from callcenter.routing.router import Router
from callcenter.server.replay import events_and_actions
from tests.amilab import capture
from tests.routing.helpers import agent, policy


@dataclass
class Lab:
    """Tracker + router + adapter, driven by one capture."""

    name: str
    agents: list[tuple[str, str, int]]  # (agent id, dial string, refunds level)
    ring_timeout_s: float = 8.0
    tracker: CallTracker = field(default_factory=CallTracker)
    now: float = 0.0
    sent: list[Action] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    ringing: list[OfferRinging] = field(default_factory=list)
    recorded_ids: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        profiles = [agent(a, {"refunds": level}, dial=dial) for a, dial, level in self.agents]
        pol = policy(refunds={"ring_timeout_s": self.ring_timeout_s, "wrap_up_s": 30,
                              "steps": [{"after_s": 0}]})
        self.engine = RoutingEngine(Router(pol, profiles), clock=lambda: self.now)
        self.adapter = OfferAdapter(self.engine, self.send, on_ringing=self.ringing.append)
        self.engine.add_sink(self.decisions.extend)
        self.engine.add_sink(self.adapter.carry_out)
        self.lines = capture(self.name)
        self.dials = {dial for _, dial, _ in self.agents}
        for _, action, action_id, _ in events_and_actions(self.lines):
            if action is not None and action.name == "Originate" and \
                    action.header("Channel") in self.dials:
                self.recorded_ids[action.header("Channel")].append(action_id)
        for a, _, _ in self.agents:
            self.engine.submit(ev.AgentLoggedIn(a, self.now, ready=True))

    async def send(self, action: Action | Originate, timeout: float | None = None) -> AmiResponse:
        if isinstance(action, Originate):
            action = action.action()
        self.sent.append(action)
        action_id = f"test-{len(self.sent)}"
        if action.name == "Originate":
            action_id = self.recorded_ids[action.header("Channel")].pop(0)
        self.changed(self.tracker.apply_action(action, action_id, self.now))
        return AmiResponse(Frame({"Response": "Success"}, ""))

    def changed(self, events: list[CallEvent]) -> None:
        for event in events:
            self.adapter.on_call_event(event)

    async def play(self, until: Callable[[AmiEvent], bool] | None = None,
                   enqueue_skill: str = "refunds") -> None:
        """Feed the capture; the lab client's agent Originate becomes our enqueue."""
        enqueued = False
        for event, action, action_id, at in events_and_actions(self.lines):
            self.now = at
            if event is not None:
                if until is not None and until(event):
                    return
                self.changed(self.tracker.apply_event(event))
                self.adapter.on_ami_event(event)
            elif action is not None:
                if action.name == "Originate" and action.header("Channel") in self.dials:
                    if not enqueued:
                        enqueued = True
                        self.enqueue(action.header("Data").split(",")[0], enqueue_skill)
                elif action.name not in ("Login", "Ping", "Logoff"):
                    self.changed(self.tracker.apply_action(action, action_id, at))
            await self.adapter.wait_idle()

    def enqueue(self, caller_channel: str, skill: str) -> None:
        call = self.tracker.call_for_channel(caller_channel)
        assert call is not None
        self.call_id = call.linkedid
        self.adapter.enqueue(ev.CallRequest(call.linkedid, skill), caller_channel, "13800000001",
                             "Alice Chen")

    def agent_states(self) -> list[tuple[str, str, str]]:
        return [(d.agent_id, d.state.value, d.reason) for d in self.decisions
                if isinstance(d, AgentStateChanged) and d.state_changed]


async def test_given_agent_ready_when_call_queued_then_originate_bridges_agent_to_caller() -> None:
    lab = Lab("ivr_route_record", [("sam", "Local/1001@sim-agent/n", 5)], ring_timeout_s=20)
    await lab.play()
    originate = next(a for a in lab.sent if a.name == "Originate")
    assert originate.header("Channel") == "Local/1001@sim-agent/n"
    assert originate.header("Application") == "Bridge"
    assert originate.header("Data") == "Local/4001@inbound-00000006;2,p"
    assert originate.header("Async") == "true"
    assert originate.header("Timeout") == "20000"
    assert originate.header("CallerID") == '"Queue: refunds" <13800000001>'
    assert ("Variable", f"CC_CALL={lab.call_id}") in originate.headers
    assert [(r.call_id, r.agent_id, r.caller_channel) for r in lab.ringing] == [
        (lab.call_id, "sam", "Local/4001@inbound-00000006;2")]
    # rang, answered, talked, hung up: wrap-up runs, then ready again
    assert [s for _, s, _ in lab.agent_states()] == ["ready", "offered", "talking", "wrap_up"]
    lab.engine.submit(ev.Tick(lab.now + 31))
    assert lab.agent_states()[-1] == ("sam", "ready", "")
    stats = lab.engine.statistics()
    assert (stats.answered, stats.abandoned, stats.waiting) == (1, 0, 0)


async def test_given_agent_does_not_answer_when_ring_times_out_then_agent_paused_missed_and_call_waits() -> None:
    lab = Lab("agent_noanswer", [("kim", "Local/2001@sim-agent/n", 5)], ring_timeout_s=5)
    # stop right before Asterisk's answer to our Originate, after the cause-19 hangups
    await lab.play(until=lambda e: e.name == "OriginateResponse" and e.action_id == "lab-12")
    assert ("kim", "paused", "missed") in lab.agent_states()
    view = lab.engine.call_status(lab.call_id)
    assert view is not None and view.status == "waiting"
    assert [d.agent_id for d in lab.decisions if isinstance(d, Offer)] == ["kim"]


async def test_given_busy_phone_then_next_agent_offered_and_unregistered_phone_marked_unreachable() -> None:
    lab = Lab("sip_agent_busy_offline",
              [("pat", "PJSIP/1002", 5), ("lee", "PJSIP/1003", 4)])
    await lab.play()
    offers = [(d.agent_id, d.dial_string) for d in lab.decisions if isinstance(d, Offer)]
    assert offers == [("pat", "PJSIP/1002"), ("lee", "PJSIP/1003")]
    assert ("pat", "paused", "phone_busy") in lab.agent_states()
    lee = lab.engine.agent_status("lee")
    assert lee.state is AgentState.READY and not lee.reachable
    stats = lab.engine.statistics()
    assert stats.abandoned == 1 and stats.waiting == 0  # the lab client hung the caller up


async def test_given_phone_unregisters_then_agent_not_offerable_until_reachable_again() -> None:
    lab = Lab("sip_register", [("pat", "PJSIP/1002", 5)])
    reach: list[bool] = []
    lab.engine.add_sink(lambda ds: reach.extend(
        d.reachable for d in ds if isinstance(d, AgentStateChanged) and not d.state_changed))
    await lab.play()
    assert reach == [False, True]  # PeerStatus, DeviceStateChange and ContactStatus: one change each
    assert lab.engine.agent_status("pat").reachable


async def test_given_caller_hangs_up_while_agent_rings_then_agent_leg_hung_up_and_agent_ready() -> None:
    lab = Lab("agent_noanswer", [("kim", "Local/2001@sim-agent/n", 5)], ring_timeout_s=5)
    await lab.play(until=lambda e: e.name == "HangupRequest")  # the agent's phone is ringing
    assert lab.ringing and lab.ringing[0].agent_id == "kim"
    caller = lab.tracker.calls[lab.call_id].caller
    assert caller is not None
    hangup = AmiEvent(Frame({"Event": "Hangup", "Channel": caller.channel,
                             "Uniqueid": caller.uniqueid, "Linkedid": caller.linkedid,
                             "Cause": "16"}, ""), lab.now)
    lab.changed(lab.tracker.apply_event(hangup))
    await lab.adapter.wait_idle()
    cancels = [d for d in lab.decisions if isinstance(d, CancelOffer)]
    assert [(c.agent_id, c.reason) for c in cancels] == [("kim", "caller_hung_up")]
    assert lab.sent[-1].name == "Hangup"
    assert lab.sent[-1].header("Channel") == "Local/2001@sim-agent-0000000a;1"
    assert lab.engine.agent_status("kim").state is AgentState.READY
    assert lab.engine.statistics().abandoned == 1


@pytest.mark.parametrize("error", ["not_connected", "not_connected_at_once", "refused"])
async def test_given_ami_error_when_offering_then_router_told(error: str) -> None:
    from callcenter.ami.errors import AmiActionFailed, AmiNotConnected

    lab = Lab("ivr_route_record", [("sam", "Local/1001@sim-agent/n", 5)])

    async def failing(action: Action | Originate, timeout: float | None = None) -> AmiResponse:
        if error == "not_connected":
            raise AmiNotConnected("AMI link is down")
        raise AmiActionFailed("Originate", "Invalid channel")

    def refused_at_once(action: Action | Originate, timeout: float | None = None) -> Awaitable[AmiResponse]:
        raise AmiNotConnected("AMI link is down")  # as AmiClient.post: nothing written

    lab.adapter._send = refused_at_once if error == "not_connected_at_once" else failing
    error = "not_connected" if error == "not_connected_at_once" else error
    await lab.play(until=lambda e: e.name == "BridgeEnter")
    status = lab.engine.agent_status("sam")
    if error == "not_connected":
        # not the agent's fault: still ready, no more offers until the link is back
        assert status.state is AgentState.READY
        assert lab.engine.call_status(lab.call_id).status == "waiting"
        lab.adapter._send = lab.send
        lab.adapter.on_link("up")
        await lab.adapter.wait_idle()
        assert lab.engine.agent_status("sam").state is AgentState.OFFERED
    else:
        assert (status.state, status.reason) == (AgentState.PAUSED, "offer_failed")
