"""Pause reasons as configured data: the file's checks, what an agent may choose, the shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.agents.errors import AgentConfigError, InvalidAgentRequest
from callcenter.agents.pause_reasons import load_pause_reasons, parse_pause_reasons

REPO = Path(__file__).resolve().parents[2]


def entry(code: str, en: str = "X", zh: str = "某") -> dict[str, object]:
    return {"code": code, "label": {"en": en, "zh-CN": zh}}


@pytest.mark.parametrize(("data", "message"), [
    ({"pause_reasons": [entry("Coffee")]}, "pause_reasons[0].code: must be a lower-case word"),
    ({"pause_reasons": [{"code": "x", "label": {"en": "X"}}]}, "pause_reasons[0].label.zh-CN: missing"),
    ({"pause_reasons": [entry("missed")]}, "pause_reasons[0].code: 'missed' is a system reason"),
    ({"pause_reasons": [entry("x"), entry("x")]}, "pause_reasons[1].code: 'x' is already used"),
    ({"pause_reasons": []}, "pause_reasons: must list at least one reason"),
    ({"pause_reasons": [{**entry("x"), "colour": "red"}]}, "pause_reasons[0].colour"),
    ({"pause_reasons": [entry("x", en=" ")]}, "pause_reasons[0].label.en: must be a non-empty string"),
])
def test_given_bad_pause_reasons_file_then_error_names_the_field(data: dict[str, object],
                                                                 message: str) -> None:
    with pytest.raises(AgentConfigError) as caught:
        parse_pause_reasons(data)
    assert message in str(caught.value)


def test_given_configured_reasons_then_only_they_and_more_time_may_be_chosen() -> None:
    reasons = parse_pause_reasons({"pause_reasons": [entry("back_office", "Back office", "后台事务")]})
    assert reasons.check("back_office") == "back_office"
    assert reasons.check("after_call_work") == "after_call_work"
    for refused in ("break", "missed", "login", "Back office"):
        with pytest.raises(InvalidAgentRequest) as caught:
            reasons.check(refused)
        assert "known: back_office" in str(caught.value)
    assert reasons.label("back_office", "zh-CN") == "后台事务"
    assert reasons.label("back_office", "en") == "Back office"


def test_shipped_file_has_both_languages_for_every_reason(tmp_path: Path) -> None:
    reasons = load_pause_reasons(REPO / "config" / "pause_reasons.yaml")
    assert {"break", "lunch", "training", "back_office"} <= set(reasons.codes)
    assert all(r["label"]["en"] and r["label"]["zh-CN"] for r in reasons.to_json())
    assert load_pause_reasons(tmp_path / "none.yaml").codes == ("break", "lunch", "training", "meeting")
    (tmp_path / "bad.yaml").write_text("pause_reasons: [", encoding="utf-8")
    with pytest.raises(AgentConfigError, match=r"bad\.yaml: not valid YAML"):
        load_pause_reasons(tmp_path / "bad.yaml")
