"""What the demo prepares before it starts: its config copy, the scenario, and the people.

- The demo runs on a copy of ``config/`` in the state directory whose business hours are
  around the clock (so a visitor at any hour sees calls reach agents, not the closed message).
- Its scenario keeps calls coming: refunds, returns, late deliveries, complaints, VIP callers,
  an impatient caller who abandons, and agents who answer, one who never answers (missed
  calls), one whose phone is busy. Callers are the demo shop's customers, so the IVR's lookups
  and the screen-pop find their orders.
- Its people: ``supervisor``, ``qa``, ``admin`` and ``agent1``… (one per configured agent),
  all with the password ``demo`` — demo mode only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, phone_for
from callcenter.simulator.scenario import (
    AgentScript,
    Arrival,
    Behaviour,
    CallerScript,
    Press,
    Scenario,
    Speech,
    Survey,
)

DEMO_PASSWORD = "demo"
ALWAYS_OPEN = [{"days": "mon-sun", "open": "00:00", "close": "24:00"}]
# When the main menu's prompt is playing, by the caller's language (after welcome).
MENU_AT_S = {"en": 4.5, "zh": 5.5}
# When the survey question is playing (after its introduction), by language.
SURVEY_AT_S = {"en": 6.0, "zh": 9.5}


def prepare_config(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` with every IVR calendar open around the clock."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    for flow in (target / "ivr").glob("*.yaml"):
        raw = yaml.safe_load(flow.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("calendars"), dict):
            continue
        for calendar in raw["calendars"].values():
            calendar["hours"] = ALWAYS_OPEN
            calendar["holidays"] = []
        flow.write_text("# Demo copy: open around the clock.\n" + yaml.safe_dump(
            raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def _customer(data: DemoData, index: int) -> tuple[str, str, str, str]:
    row = data.customers[index - 1]
    return phone_for(index), row[2], row[5], row[4]  # number, name, language, tier


def build_scenario(data: DemoData, voices: dict[str, Path], agents: list[AgentProfile],
                   rate_scale: float = 1.0, duration_s: float = 7 * 24 * 3600.0) -> Scenario:
    """The demo's callers (Poisson arrivals) and the agents' phones."""

    def voice(kind: str, lang: str) -> Path:
        return voices.get(f"customer-{kind}-{lang}") or voices[f"customer-{kind}-en"]

    callers: list[CallerScript] = []
    # (customer index, menu digits, what they say, rate per minute, patience, survey)
    plans: list[tuple[int, str, str, float, float | None, str | None]] = [
        (1, "22", "refund", 0.8, 240.0, "5"),       # returns menu → refunds
        (2, "31", "late", 0.7, 240.0, "4"),         # delivery menu → late delivery
        (4, "21", "return", 0.6, 240.0, "5"),       # returns menu → returns
        (5, "4", "complaint", 0.5, 240.0, "2"),     # complaints
        (6, "32", "late", 0.4, 240.0, "3"),         # delivery menu → damaged
        (3, "", "vip", 0.4, 300.0, "5"),            # VIP: straight to senior agents
        (7, "0", "refund", 0.3, 25.0, None),        # impatient: abandons on hold
        (8, "22", "refund", 0.4, 240.0, "4"),
        (9, "31", "late", 0.3, 240.0, None),
    ]
    # An opening burst, so the first calls complete within a minute or so of starting.
    plans += [(10, "0", "refund", 0.0, 240.0, "5"), (11, "0", "late", 0.0, 240.0, "4"),
              (12, "0", "return", 0.0, 240.0, None)]
    for seed, (index, digits, kind, rate, patience, survey) in enumerate(plans, start=1):
        number, name, lang, _tier = _customer(data, index)
        presses = []
        if digits:
            presses.append(Press(MENU_AT_S.get(lang, 4.5), digits[0]))
            if len(digits) > 1:
                presses.append(Press(MENU_AT_S.get(lang, 4.5) + 3.0, digits[1]))
        callers.append(CallerScript(
            number=number, name=name, language=lang,
            arrival=Arrival(rate_per_min=rate * rate_scale, duration_s=duration_s, seed=seed)
            if rate else Arrival(at_s=(2.5 * (seed - len(plans) + 3) + 1.0,)),  # 3.5, 6, 8.5 s
            behaviour=Behaviour(presses=tuple(presses), patience_s=patience,
                                talk=(Speech(6.5, voice(kind, lang)),),
                                # the opening burst's callers keep it short: done within a minute
                                hangup_after_s=None if rate else 45.0,
                                survey=Survey(survey, SURVEY_AT_S[lang]) if survey else None)))
    scripts: list[AgentScript] = []
    for n, agent in enumerate(agents):
        lang = "zh" if "zh" in agent.languages and "en" not in agent.languages else "en"
        greet = voices.get(f"agent-greet-{lang}") or voices["agent-greet-en"]
        resolve = voices.get(f"agent-resolve-{lang}") or voices["agent-resolve-en"]
        behaviour = Behaviour(answer_after_s=2.0 + n % 3,
                              says=(Speech(0.5, greet), Speech(15.0, resolve)),
                              hangup_after_s=30.0 + 4 * (n % 4))
        if n == len(agents) - 1 and len(agents) > 2:
            behaviour = Behaviour(never_answers=True)  # the agent who misses calls
        extension = agent.dial_string.split("/", 1)[1] if agent.dial_string.startswith("PJSIP/") else ""
        if extension:
            scripts.append(AgentScript(extension=extension, behaviour=behaviour))
    return Scenario(tuple(callers), tuple(scripts), "demo")


def demo_users(agents: list[AgentProfile]) -> list[dict[str, Any]]:
    """The demo's log-ins (password ``demo``): staff plus one ``agentN`` per agent."""
    users: list[dict[str, Any]] = [
        {"login": "supervisor", "name": "Demo Supervisor", "role": "supervisor"},
        {"login": "qa", "name": "Demo QA", "role": "qa"},
        {"login": "admin", "name": "Demo Admin", "role": "admin"},
    ]
    for n, agent in enumerate(agents, start=1):
        # an agent who speaks Chinese and no English sees the pages in Chinese
        language = "zh-CN" if "zh" in agent.languages and "en" not in agent.languages else "en"
        users.append({"login": f"agent{n}", "name": agent.name, "role": "agent",
                      "agent_login": agent.agent_id, "language": language})
    return users
