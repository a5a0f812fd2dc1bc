"""After a restart, an agent still on a live call (a callback, any call the tracker rebuilt with
the agent's leg up) comes back talking on it, not paused ``restored``; when the talk ends they
wrap up as after any talk."""

from __future__ import annotations

from callcenter.agents.model import AgentState
from callcenter.ami.messages import Action, AmiResponse, Originate
from callcenter.ami.parser import Frame
from callcenter.calls.events import AgentHungUp, CallEnded
from callcenter.calls.model import Call, CallState, Direction, Leg, LegRole, Outcome, Side
from callcenter.routing import events as ev
from callcenter.routing.decisions import Decision
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferAdapter
from callcenter.routing.reconcile import reconcile
from callcenter.routing.router import Router
from tests.routing.helpers import agent, check_invariants, policy, states

STEP = [{"after_s": 0, "min_level": 1}]


def restarted(*pauses: tuple[str, str]) -> Router:
    """Agents ``a`` and ``b`` back after a restart with the given pauses."""
    r = Router(policy(refunds={"wrap_up_s": 30, "steps": STEP}), [agent("a", {"refunds": 5}),
                                                                 agent("b", {"refunds": 3})])
    for agent_id, reason in pauses:
        r.handle(ev.AgentLoggedIn(agent_id, 0.0))
        r.handle(ev.AgentPaused(agent_id, reason, 0.0))
    return r


def test_given_agent_paused_restored_when_talk_restored_then_talking_and_wrap_up_then_ready() -> None:
    r = restarted(("a", ev.RESTORED_PAUSE))
    assert states(r.handle(ev.TalkRestored("cb1", "a", "", 1.0))) == [("a", AgentState.TALKING, "")]
    assert r.agent_status("a").call_id == "cb1"
    check_invariants(r)
    assert states(r.handle(ev.TalkEnded("cb1", 40.0, "a"))) == [("a", AgentState.WRAP_UP, "")]
    assert states(r.tick(70.0)) == [("a", AgentState.READY, "")]


def test_given_a_break_chosen_before_then_it_comes_after_the_restored_talk() -> None:
    r = Router(policy(refunds={"wrap_up_s": 0, "steps": STEP}), [agent("a", {"refunds": 5})])
    r.handle(ev.AgentLoggedIn("a", 0.0))
    r.handle(ev.AgentPaused("a", "lunch", 0.0))
    r.handle(ev.TalkRestored("c1", "a", "refunds", 1.0))
    assert states(r.handle(ev.CallHungUp("c1", 9.0))) == [("a", AgentState.PAUSED, "lunch")]


def test_given_agent_already_on_a_call_or_offline_then_talk_restored_changes_nothing() -> None:
    r = restarted(("a", ev.RESTORED_PAUSE))
    r.handle(ev.TalkRestored("c1", "a", "", 1.0))
    assert r.handle(ev.TalkRestored("c2", "a", "", 2.0)) == []
    assert r.handle(ev.TalkRestored("c3", "b", "", 2.0)) == []  # b is not logged in
    check_invariants(r)


class Rig:
    def __init__(self) -> None:
        self.now = 100.0
        self.decisions: list[Decision] = []
        self.engine = RoutingEngine(restarted(("a", ev.RESTORED_PAUSE), ("b", ev.RESTORED_PAUSE)),
                                    clock=lambda: self.now)
        self.engine.add_sink(self.decisions.extend)
        self.offers = OfferAdapter(self.engine, self.send)
        self.calls: dict[str, Call] = {}

    async def send(self, action: Action | Originate, timeout: float | None = None) -> AmiResponse:
        return AmiResponse(Frame({"Response": "Success"}, ""))

    def call(self, key: str, agent_channel: str, state: CallState, direction: Direction,
             agent_up: bool = True) -> Call:
        c = Call(key, 10.0, state=state, direction=direction, bridged_at=20.0, answered_at=20.0)
        caller = Leg(f"{key}.1", f"PJSIP/trunk-{key}", key, LegRole.CALLER, Side.CALLER, 10.0)
        agent_leg = Leg(f"{key}.2", agent_channel, key, LegRole.AGENT, Side.AGENT, 12.0,
                        ended_at=None if agent_up else 30.0)
        c.legs = {caller.uniqueid: caller, agent_leg.uniqueid: agent_leg}
        c.caller_uniqueid, c.agent_uniqueid = caller.uniqueid, agent_leg.uniqueid
        self.calls[key] = c
        return c

    def reconcile(self) -> dict[str, int]:
        return reconcile(self.offers, self.engine, self.calls.get, list(self.calls.values()))


def test_given_restart_during_a_callback_then_the_agent_talks_on_it_and_wraps_up_on_hang_up() -> None:
    rig = Rig()
    rig.call("cb1", "PJSIP/a-00000001", CallState.TALKING, Direction.CALLBACK)
    assert rig.reconcile() == {"talk_restored": 1}
    status = rig.engine.agent_status("a")
    assert (status.state, status.call_id) == (AgentState.TALKING, "cb1")
    assert rig.engine.agent_status("b").state is AgentState.PAUSED
    assert rig.reconcile() == {}  # once
    rig.now = 150.0
    rig.offers.on_call_event(AgentHungUp("cb1", 150.0, "PJSIP/a-00000001", 16))
    assert rig.engine.agent_status("a").state is AgentState.WRAP_UP
    rig.offers.on_call_event(CallEnded("cb1", 151.0, Outcome.ANSWERED, None, 16, None))
    assert rig.engine.agent_status("a").state is AgentState.WRAP_UP


def test_given_restart_then_a_rebuilt_inbound_talk_is_restored_but_an_ended_leg_or_a_stranger_is_not() -> None:
    rig = Rig()
    rig.call("c1", "PJSIP/b-00000002", CallState.TALKING, Direction.INBOUND)
    rig.call("c2", "PJSIP/a-00000003", CallState.TALKING, Direction.INBOUND, agent_up=False)
    rig.call("c3", "PJSIP/nobody-00000004", CallState.TALKING, Direction.INBOUND)
    assert rig.reconcile() == {"talk_restored": 1}
    assert rig.engine.agent_status("b").call_id == "c1"
    assert rig.engine.agent_status("a").state is AgentState.PAUSED
    rig.offers.on_call_event(CallEnded("c1", 160.0, Outcome.ANSWERED, None, 16, None))
    assert rig.engine.agent_status("b").state is AgentState.WRAP_UP


def test_given_the_stored_skill_of_a_restored_talk_then_its_wrap_up_is_that_skill_s() -> None:
    rig = Rig()
    two = Router(policy(refunds={"wrap_up_s": 30, "steps": STEP}, orders={"wrap_up_s": 5, "steps": STEP}),
                 [agent("a", {"refunds": 5, "orders": 1})])
    two.handle(ev.AgentLoggedIn("a", 0.0))
    two.handle(ev.AgentPaused("a", ev.RESTORED_PAUSE, 0.0))
    rig.engine = RoutingEngine(two, clock=lambda: rig.now)
    rig.offers = OfferAdapter(rig.engine, rig.send)
    rig.call("c1", "PJSIP/a-00000001", CallState.TALKING, Direction.INBOUND)
    assert reconcile(rig.offers, rig.engine, rig.calls.get, list(rig.calls.values()),
                     lambda call_id: "orders" if call_id == "c1" else "") == {"talk_restored": 1}
    rig.now = 150.0
    rig.offers.on_call_event(AgentHungUp("c1", 150.0, "PJSIP/a-00000001", 16))
    assert rig.engine.agent_status("a").state is AgentState.WRAP_UP
    rig.now = 156.0
    rig.engine.submit(ev.Tick(156.0))
    assert rig.engine.agent_status("a").state is AgentState.READY  # orders' 5 s, not refunds' 30 s
