"""Why a call waits, as the wallboard shows it: its skill, level and language, and which
agents could take it under the routing steps in force, and how many of them are ready."""

from __future__ import annotations

from callcenter.agents.model import AgentProfile
from callcenter.routing import events as ev
from callcenter.routing.router import Router
from callcenter.routing.waiting import why_waiting
from callcenter.web.wallboard import build_snapshot


def agent(login: str, languages: set[str], **skills: int) -> AgentProfile:
    return AgentProfile(login, login.title(), f"PJSIP/{login}", skills, frozenset(languages))


def test_a_waiting_call_names_the_agents_able_to_take_it_and_how_many_are_ready() -> None:
    router = Router(agents=[agent("wei", {"zh", "en"}, complaints=4), agent("li", {"zh"}, complaints=4),
                            agent("sam", {"en"}, complaints=5), agent("tom", {"zh"}, complaints=2)],
                    start=0.0)
    router.handle(ev.AgentLoggedIn("wei", 0.0, True))
    router.handle(ev.AgentLoggedIn("li", 0.0, True))
    router.handle(ev.AgentLoggedIn("sam", 0.0, True))
    router.handle(ev.AgentLoggedIn("tom", 0.0, True))
    router.handle(ev.AgentPaused("li", "lunch", 0.0))
    # wei takes the first Chinese complaint, so the second one waits
    router.handle(ev.CallEnqueued(ev.CallRequest("c1", "complaints", 4, "zh"), 1.0))
    router.handle(ev.CallEnqueued(ev.CallRequest("c2", "complaints", 4, "zh"), 2.0))
    waiting = why_waiting(router, 12.0)
    assert [w["call_id"] for w in waiting] == ["c2"]
    why = waiting[0]
    assert why["skill"] == "complaints" and why["language"] == "zh" and why["wait_s"] == 10
    assert why["able"] == ["li", "wei"]  # sam lacks Chinese, tom the level
    assert why["able_ready"] == []  # wei is ringing, li is at lunch
    snap = build_snapshot(None, {}, {}, {"li": "Li Na", "wei": "Wei Zhang"}, 12.0, waiting)
    assert snap["waiting_calls"][0]["able"] == ["Li Na", "Wei Zhang"]


def test_nobody_able_is_said_plainly() -> None:
    router = Router(agents=[agent("sam", {"en"}, refunds=5)], start=0.0)
    router.handle(ev.AgentLoggedIn("sam", 0.0, True))
    router.handle(ev.CallEnqueued(ev.CallRequest("c1", "refunds", 1, "zh"), 0.0))
    [why] = why_waiting(router, 5.0)
    assert why["able"] == [] and why["able_ready"] == []
