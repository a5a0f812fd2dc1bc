"""The colleagues the console's transfer picker lists: logged in only, their state, ready only
when they can take a call (ready and their phone reachable), skills best first."""

from __future__ import annotations

from callcenter.control.targets import agent_target, colleagues
from callcenter.routing import events as ev
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.router import Router
from tests.routing.helpers import agent, policy


def test_colleagues_are_those_logged_in_with_state_readiness_and_skills_best_first() -> None:
    profiles = [agent("ann", {"general": 2, "refunds": 5}), agent("bob", {"general": 3}),
                agent("cid", {"refunds": 1})]
    engine = RoutingEngine(Router(policy(general={"steps": [{"after_s": 0}]},
                                         refunds={"steps": [{"after_s": 0}]}), profiles),
                           clock=lambda: 100.0)
    engine.submit(ev.AgentLoggedIn("ann", 1.0, ready=True))
    engine.submit(ev.AgentLoggedIn("bob", 1.0, ready=True))
    engine.submit(ev.AgentPaused("bob", "break", 2.0))
    listed = colleagues(engine)
    assert [(a["agent_id"], a["state"], a["ready"], a["skills"]) for a in listed] == [
        ("ann", "ready", True, ["refunds", "general"]), ("bob", "paused", False, ["general"])]
    assert agent_target(engine, "ann") is not None and agent_target(engine, "zed") is None
    engine.submit(ev.PhoneUnreachable("ann", 3.0))
    assert [a["ready"] for a in colleagues(engine)] == [False, False]


def test_the_call_bars_strings_are_in_both_languages() -> None:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "callcenter/web/locales/console.json"
    strings = json.loads(path.read_text(encoding="utf-8"))
    keys = {lang: {k for k in table if k.startswith("console.control.")}
            for lang, table in strings.items()}
    assert keys["en"] == keys["zh-CN"] and "console.control.group_colleagues" in keys["en"]
