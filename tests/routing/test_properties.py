"""Random interleavings of arrivals, answers, no-answers, hang-ups, pauses and policy changes,
applied to the indexed router and to the naive full-scan reference: both must decide the same,
and the invariants must hold after every event."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from callcenter.agents.model import AgentState
from callcenter.routing import events as ev
from callcenter.routing.decisions import Decision
from callcenter.routing.policy import RoutingPolicy, Strategy, parse_policy
from callcenter.routing.router import Router, naive_router
from callcenter.routing.state import CallStatus
from tests.routing.helpers import agent, check_invariants, check_offer_order

SKILLS = ("refunds", "orders", "general")
AGENT_IDS = tuple(f"a{i}" for i in range(7))
RESULTS = ("no_answer", "busy", "unavailable", "failed", "not_sent")
REACTIONS = ({"state": "ready"}, {"state": "paused", "reason": "missed"}, {"state": "offline"})

profiles = st.tuples(
    st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), min_size=1, max_size=3),
    st.sampled_from((("en",), ("zh",), ("en", "zh"))))


@st.composite
def policies(draw: st.DrawFn) -> RoutingPolicy:
    skills = {}
    for skill in SKILLS[:2]:
        skills[skill] = {
            "strategy": draw(st.sampled_from([s.value for s in Strategy])),
            "wrap_up_s": draw(st.sampled_from([0, 5, 20])),
            "sticky_s": draw(st.sampled_from([0, 10])),
            "ring_timeout_s": draw(st.sampled_from([5, 15])),
            "on_no_answer": draw(st.sampled_from(REACTIONS)),
            "steps": [{"after_s": 0, "min_level": draw(st.integers(1, 5))},
                      {"after_s": 20, "min_level": draw(st.integers(1, 3)),
                       "any_language": draw(st.booleans())},
                      {"after_s": 40, "skill": "general"},
                      {"after_s": 60, "offer_callback": True}],
        }
    return parse_policy({"defaults": {"strategy": draw(st.sampled_from([s.value for s in Strategy]))},
                         "priority": {"tags": {"vip": 100, "repeat_caller": 20},
                                      "order_value": {"points_per_unit": 0.1, "max_points": 30}},
                         "skills": skills})


class RouterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.calls = 0
        self.fast: Router
        self.slow: Router

    @initialize(agents=st.lists(profiles, min_size=len(AGENT_IDS), max_size=len(AGENT_IDS)),
                pol=policies())
    def setup(self, agents: list[tuple[dict[str, int], tuple[str, ...]]], pol: RoutingPolicy) -> None:
        made = [agent(a, skills, langs) for a, (skills, langs) in zip(AGENT_IDS, agents, strict=True)]
        self.fast = Router(pol, made)
        self.slow = naive_router(pol, made)

    def apply(self, event: ev.RouterEvent) -> list[Decision]:
        fast = self.fast.handle(event)
        slow = self.slow.handle(event)
        assert fast == slow, f"indexed and naive routers disagree on {event}"
        check_invariants(self.fast)
        check_offer_order(self.fast, fast)
        return fast

    def live(self, *statuses: CallStatus) -> list[str]:
        return sorted(c.call_id for c in self.fast.book.calls.values() if c.status in statuses)

    @rule(dt=st.sampled_from([0.0, 0.5, 3.0, 10.0, 21.0, 45.0]))
    def tick(self, dt: float) -> None:
        self.now += dt
        self.apply(ev.Tick(self.now))

    @rule(skill=st.sampled_from(SKILLS), level=st.integers(1, 4),
          language=st.sampled_from(["", "en", "zh"]), prio=st.integers(0, 2),
          tags=st.frozensets(st.sampled_from(["vip", "repeat_caller", "callback"])),
          value=st.sampled_from([0.0, 50.0, 500.0]),
          owner=st.none() | st.sampled_from(AGENT_IDS))
    def arrive(self, skill: str, level: int, language: str, prio: int, tags: frozenset[str],
               value: float, owner: str | None) -> None:
        self.calls += 1
        self.apply(ev.CallEnqueued(ev.CallRequest(f"c{self.calls}", skill, level, language, prio,
                                                  tags, value, owner), self.now))

    @rule(a=st.sampled_from(AGENT_IDS), ready=st.booleans())
    def login(self, a: str, ready: bool) -> None:
        self.apply(ev.AgentLoggedIn(a, self.now, ready))

    @rule(a=st.sampled_from(AGENT_IDS))
    def ready(self, a: str) -> None:
        self.apply(ev.AgentReady(a, self.now))

    @rule(a=st.sampled_from(AGENT_IDS), reason=st.sampled_from(["break", "training"]))
    def pause(self, a: str, reason: str) -> None:
        self.apply(ev.AgentPaused(a, reason, self.now))

    @rule(a=st.sampled_from(AGENT_IDS))
    def logout(self, a: str) -> None:
        self.apply(ev.AgentLoggedOut(a, self.now))

    @rule(a=st.sampled_from(AGENT_IDS), up=st.booleans())
    def phone(self, a: str, up: bool) -> None:
        self.apply(ev.PhoneReachable(a, self.now) if up else ev.PhoneUnreachable(a, self.now))

    @rule(a=st.sampled_from(AGENT_IDS))
    def wrap_up_done(self, a: str) -> None:
        self.apply(ev.WrapUpDone(a, self.now))

    @precondition(lambda self: bool(self.live(CallStatus.OFFERED)))
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(self.live(CallStatus.OFFERED)))
        rec = self.fast.book.calls[call_id].agent
        assert rec is not None
        self.apply(ev.OfferAnswered(call_id, rec.agent_id, self.now))

    @precondition(lambda self: bool(self.live(CallStatus.OFFERED)))
    @rule(data=st.data(), result=st.sampled_from(RESULTS))
    def fail(self, data: st.DataObject, result: str) -> None:
        call_id = data.draw(st.sampled_from(self.live(CallStatus.OFFERED)))
        rec = self.fast.book.calls[call_id].agent
        assert rec is not None
        self.apply(ev.OfferFailed(call_id, rec.agent_id, result, self.now))

    @precondition(lambda self: bool(self.live(CallStatus.WAITING)))
    @rule(data=st.data(), a=st.sampled_from(AGENT_IDS))
    def late_answer(self, data: st.DataObject, a: str) -> None:
        """Asterisk connects an agent the router no longer expects (a raced timeout)."""
        call_id = data.draw(st.sampled_from(self.live(CallStatus.WAITING)))
        self.apply(ev.OfferAnswered(call_id, a, self.now))

    @precondition(lambda self: bool(self.fast.book.calls))
    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.fast.book.calls)))
        self.apply(ev.CallHungUp(call_id, self.now))

    @precondition(lambda self: bool(self.live(CallStatus.TALKING)))
    @rule(data=st.data())
    def talk_ends(self, data: st.DataObject) -> None:
        self.apply(ev.TalkEnded(data.draw(st.sampled_from(self.live(CallStatus.TALKING))), self.now))

    @precondition(lambda self: bool(self.live(CallStatus.WAITING, CallStatus.OFFERED)))
    @rule(data=st.data())
    def callback(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(self.live(CallStatus.WAITING, CallStatus.OFFERED)))
        self.apply(ev.CallbackAccepted(call_id, self.now))

    @rule(down=st.booleans())
    def link(self, down: bool) -> None:
        self.apply(ev.OffersSuspended(self.now) if down else ev.OffersResumed(self.now))

    @rule(pol=policies())
    def reload(self, pol: RoutingPolicy) -> None:
        fast = self.fast.reload(pol, self.now)
        slow = self.slow.reload(pol, self.now)
        assert fast == slow
        check_invariants(self.fast)

    @invariant()
    def agents_agree(self) -> None:
        if hasattr(self, "fast"):
            assert [(s.agent_id, s.state, s.reason) for s in self.fast.agent_statuses()] == \
                [(s.agent_id, s.state, s.reason) for s in self.slow.agent_statuses()]
            for s in self.fast.agent_statuses():
                assert (s.state is AgentState.OFFERED) == (s.call_id is not None and
                                                           self.fast.call_status(s.call_id) is not None
                                                           and self.fast.call_status(s.call_id).status == "offered")


RouterMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestRouterInterleavings = RouterMachine.TestCase
