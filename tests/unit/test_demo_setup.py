"""The demo's staffing and traffic tell a healthy center's story: enough Chinese speakers for
the Chinese callers at each skill's first routing level, one agent who misses calls (not a
Chinese speaker), a realistic load with waves and an impatient caller, and the Chinese-only
agent's pages in Chinese."""

from __future__ import annotations

from pathlib import Path

from callcenter.agents.config import load_agents, load_skill_names
from callcenter.agents.model import AgentProfile
from callcenter.demo.data import generate
from callcenter.demo.setup import PLANS, STAFFING, WAVE, build_scenario, demo_users, prepare_config
from callcenter.demo.voices import AGENT_LINES, CUSTOMER_LINES
from callcenter.routing.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
# the skill each menu choice of config/ivr/aftersales.yaml routes to
SKILL_OF_DIGITS = {"22": "refunds", "21": "returns", "31": "delivery", "32": "delivery", "4": "complaints",
                   "0": "general"}


def staffing() -> list[AgentProfile]:
    return load_agents(STAFFING, load_skill_names(REPO / "config" / "skills.yaml"))


def test_every_skill_chinese_callers_need_has_a_chinese_speaker_at_its_first_level() -> None:
    agents = staffing()
    policy = load_policy(REPO / "config" / "routing.yaml", load_skill_names(REPO / "config" / "skills.yaml"))
    answering = agents[:-1]  # the last one never answers
    for group, digits in [(p[0], p[1]) for p in PLANS] + [(w[0], w[1]) for w in WAVE]:
        if group != "zh":
            continue
        skill = SKILL_OF_DIGITS[digits]
        level = policy.for_skill(skill).steps[0].min_level
        able = [a.agent_id for a in answering if "zh" in a.languages and a.skills.get(skill, 0) >= level]
        assert len(able) >= 2, (skill, level, able)
    assert sum("zh" in a.languages for a in answering) >= 4
    assert "zh" not in agents[-1].languages


def test_the_traffic_is_busy_but_within_reach_with_waves_and_an_impatient_caller(tmp_path: Path) -> None:
    agents = staffing()
    voices = {f"{who}-{line.key}-{line.language}": tmp_path / "x.wav"
              for who, lines in (("customer", CUSTOMER_LINES), ("agent", AGENT_LINES)) for line in lines}
    scenario = build_scenario(generate(), voices, agents, duration_s=3600.0)
    poisson = [c for c in scenario.callers if c.arrival.rate_per_min]
    rate = sum(c.arrival.rate_per_min for c in poisson)
    chinese = sum(c.arrival.rate_per_min for c in poisson if c.language == "zh")
    assert 2.0 <= rate <= 3.5  # seven answering agents, about 90 s a call with wrap-up
    assert 0.5 <= chinese / rate <= 0.7
    waves = [c for c in scenario.callers if not c.arrival.rate_per_min and len(c.arrival.at_s) > 1]
    assert len(waves) == len(WAVE)
    assert any((c.behaviour.patience_s or 1e9) <= 30 for c in scenario.callers)
    assert sum(a.behaviour.never_answers for a in scenario.agents) == 1


def test_the_chinese_only_agent_gets_chinese_pages_and_the_copy_uses_the_demo_staffing(tmp_path: Path) -> None:
    agents = staffing()
    users = {u["name"]: u for u in demo_users(agents)}
    assert users["Li Na"]["language"] == "zh-CN" and users["Sam Lee"]["language"] == "en"
    config = prepare_config(REPO / "config", tmp_path / "config")
    assert (config / "agents.yaml").read_text(encoding="utf-8") == STAFFING.read_text(encoding="utf-8")
