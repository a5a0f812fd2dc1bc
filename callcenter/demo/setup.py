"""What the demo prepares before it starts: its config copy, the scenario, and the people.

- The demo runs on a copy of ``config/`` in the state directory whose business hours are
  around the clock (so a visitor at any hour sees calls reach agents, not the closed message).
- Its staffing (``staffing.yaml``): eight agents, five of them Chinese speakers, for callers
  who are mostly Chinese-speaking.
- Its scenario keeps calls coming: refunds, returns, late deliveries, complaints, VIP callers,
  waves of callers every twenty minutes (a peak that builds a queue and drains), an impatient
  caller who abandons, and agents who answer, one who never answers (missed calls). Callers are
  the demo shop's customers, so the IVR's lookups and the screen-pop find their orders.
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
from callcenter.demo.voices import AGENT_STYLES
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
# the English agents' styles in turn, so demo QA scores spread (see voices.AGENT_STYLES)
STYLE_ORDER = ("model", "hurried", "plain", "rude")
# When the survey question is playing (after its introduction), by language.
SURVEY_AT_S = {"en": 6.0, "zh": 9.5}


STAFFING = Path(__file__).with_name("staffing.yaml")


def prepare_config(source: Path, target: Path, staffing: Path | None = STAFFING) -> Path:
    """Copy ``source`` to ``target`` with every IVR calendar open around the clock and the
    demo's staffing (``staffing``, when given) as its agents."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    if staffing is not None:
        shutil.copyfile(staffing, target / "agents.yaml")
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


def _customers_by_language(data: DemoData) -> dict[str, list[int]]:
    """Customer indices (1-based) by language; VIP customers apart under ``vip``."""
    out: dict[str, list[int]] = {"en": [], "zh": [], "vip": []}
    for index, row in enumerate(data.customers, start=1):
        out["vip" if row[4] == "vip" else row[5]].append(index)
    return out


# The demo's callers: (language, menu digits, what they say, calls per minute, patience, survey).
# About 2.7 calls a simulated minute on average, three in five in Chinese, for seven answering
# agents: a busy but healthy center (occupancy around 60-70 %), with waves of callers every
# twenty minutes that make queues build and drain, and one impatient caller who abandons.
PLANS: tuple[tuple[str, str, str, float, float | None, str | None], ...] = (
    ("zh", "22", "refund", 0.45, 300.0, "5"),      # returns menu → refunds
    ("zh", "31", "late", 0.4, 300.0, "4"),         # delivery menu → late delivery
    ("en", "21", "return", 0.35, 300.0, "5"),      # returns menu → returns
    ("zh", "4", "complaint", 0.25, 300.0, "2"),    # complaints
    ("zh", "32", "late", 0.2, 300.0, "3"),         # delivery menu → damaged
    ("vip", "", "vip", 0.2, 300.0, "5"),           # VIP: straight to senior agents
    ("zh", "0", "refund", 0.15, 20.0, None),       # impatient: abandons when there is a queue
    ("en", "22", "refund", 0.3, 300.0, "4"),
    ("en", "31", "late", 0.2, 300.0, None),
    ("zh", "0", "return", 0.2, 300.0, "4"),
)
WAVE_EVERY_S = 20 * 60.0  # a wave of callers (a peak) every twenty simulated minutes
WAVE = (("zh", "22", "refund"), ("en", "31", "late"), ("zh", "31", "late"), ("zh", "0", "return"),
        ("en", "21", "return"), ("zh", "4", "complaint"))


def build_scenario(data: DemoData, voices: dict[str, Path], agents: list[AgentProfile],
                   rate_scale: float = 1.0, duration_s: float = 7 * 24 * 3600.0) -> Scenario:
    """The demo's callers (Poisson arrivals, waves, an opening burst) and the agents' phones."""
    callers = _Callers(data, voices)
    scripts: list[CallerScript] = []
    for seed, (group, digits, kind, rate, patience, survey) in enumerate(PLANS, start=1):
        scripts.append(callers.script(group, digits, kind, Arrival(rate_per_min=rate * rate_scale,
                                                                   duration_s=duration_s, seed=seed),
                                      patience, survey))
    # waves: the n-th caller of each wave arrives 15 s after the one before, every twenty minutes
    waves = int(duration_s // WAVE_EVERY_S)
    for n, (group, digits, kind) in enumerate(WAVE):
        times = tuple(WAVE_EVERY_S * (w + 1) + 15.0 * n for w in range(waves))
        if times:
            scripts.append(callers.script(group, digits, kind, Arrival(at_s=times), 360.0, "4"))
    # an opening burst, so the first calls complete within a minute or so of starting
    for n, (group, kind) in enumerate((("zh", "refund"), ("en", "late"), ("zh", "return"))):
        scripts.append(callers.script(group, "0", kind, Arrival(at_s=(1.0 + 2.5 * n,)), 240.0,
                                      "5" if n < 2 else None, hangup_after_s=45.0))
    return Scenario(tuple(scripts), tuple(_agent_scripts(agents, voices)), "demo")


class _Callers:
    """Writes callers' scripts: each group's customers take turns, each speaks in its voice."""

    def __init__(self, data: DemoData, voices: dict[str, Path]) -> None:
        self._data = data
        self._voices = voices
        self._people = _customers_by_language(data)
        self._used: dict[str, int] = {}

    def script(self, group: str, digits: str, kind: str, arrival: Arrival, patience: float | None,
               survey: str | None, hangup_after_s: float | None = None) -> CallerScript:
        number, name, lang = self._customer(group)
        at = MENU_AT_S.get(lang, 4.5)
        presses = [Press(at, digits[0])] if digits else []
        if len(digits) > 1:
            presses.append(Press(at + 3.0, digits[1]))
        return CallerScript(
            number=number, name=name, language=lang, arrival=arrival,
            behaviour=Behaviour(presses=tuple(presses), patience_s=patience,
                                talk=(Speech(6.5, self._voice(kind, lang)),), hangup_after_s=hangup_after_s,
                                survey=Survey(survey, SURVEY_AT_S[lang]) if survey else None))

    def _customer(self, group: str) -> tuple[str, str, str]:
        """The next customer of ``group`` (a language, or vip): number, name, language."""
        pool = self._people[group] or self._people["en"] or self._people["zh"]
        index = pool[self._used.get(group, 0) % len(pool)]
        self._used[group] = self._used.get(group, 0) + 1
        row = self._data.customers[index - 1]
        return phone_for(index), row[2], row[5]

    def _voice(self, kind: str, lang: str) -> Path:
        return self._voices.get(f"customer-{kind}-{lang}") or self._voices[f"customer-{kind}-en"]


def _agent_scripts(agents: list[AgentProfile], voices: dict[str, Path]) -> list[AgentScript]:
    """The PJSIP agents' phones: they answer after a few seconds and speak in a style; the last
    agent of three or more never answers (the agent who misses calls)."""
    scripts: list[AgentScript] = []
    for n, agent in enumerate(agents):
        lang = "zh" if "zh" in agent.languages and "en" not in agent.languages else "en"
        # Chinese-speaking agents are model agents; the others take the styles in turn
        style = AGENT_STYLES["model" if lang == "zh" else STYLE_ORDER[n % len(STYLE_ORDER)]]

        def line(key: str, lang: str = lang) -> Path:
            return voices.get(f"agent-{key}-{lang}") or voices[f"agent-{key}-en"]

        says = [Speech(0.5, line(style[0])), Speech(15.0, line(style[1]))]
        if style[2]:
            says.append(Speech(24.0, line(style[2])))
        behaviour = Behaviour(answer_after_s=2.0 + n % 3, says=tuple(says),
                              hangup_after_s=30.0 + 4 * (n % 4))
        if n == len(agents) - 1 and len(agents) > 2:
            behaviour = Behaviour(never_answers=True)
        extension = agent.dial_string.split("/", 1)[1] if agent.dial_string.startswith("PJSIP/") else ""
        if extension:
            scripts.append(AgentScript(extension=extension, behaviour=behaviour))
    # the staff's desk phones, for listening in from the wallboard: they answer at once
    scripts += [AgentScript(extension=phone.split("/", 1)[1], behaviour=Behaviour(answer_after_s=1.0))
                for phone in STAFF_PHONES.values()]
    return scripts


# the phones the wallboard rings to listen in (users.phone); the simulator answers them
STAFF_PHONES = {"supervisor": "PJSIP/1099", "admin": "PJSIP/1098"}


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
