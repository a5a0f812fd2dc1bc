"""The wallboard's snapshot says who is monitoring which call, and each paused agent's reason
and for how long."""

from __future__ import annotations

from callcenter.supervision.model import Mode, Session
from callcenter.web.wallboard import build_snapshot

NOW = 1_800_000_000.0


def test_snapshot_lists_monitoring_sessions_and_pauses_with_their_duration() -> None:
    routing = {"waiting": 0, "longest_wait_s": 0.0, "service_level": None, "skills": [], "agent_details": [
        {"agent_id": "sam", "state": "talking", "reason": "", "since": NOW - 30, "call_id": "17.1"},
        {"agent_id": "li", "state": "paused", "reason": "back_office", "since": NOW - 600, "call_id": None}]}
    session = Session(7, "boss", "17.1", "sam", "PJSIP/1001-0000000a", "17.2", Mode.WHISPER, "PJSIP/1009",
                      "spy-7-ab", NOW - 10, spy_channel="PJSIP/1009-0000000b", answered_at=NOW - 9)
    snap = build_snapshot(routing, {}, {}, {"sam": "Sam Lee", "li": "Li Na"}, NOW,
                          supervision=[session.to_json()])
    assert snap["supervision"] == [{"id": 7, "supervisor": "boss", "agent_id": "sam", "call_id": "17.1",
                                    "mode": "whisper", "state": "active", "note": ""}]
    agents = {a["agent_id"]: a for a in snap["agents"]}
    assert agents["sam"]["call_id"] == "17.1"
    assert (agents["li"]["state"], agents["li"]["reason"], agents["li"]["since_s"]) == ("paused", "back_office", 600)
    assert build_snapshot(routing, {}, {}, {}, NOW)["supervision"] == []


def test_snapshot_says_why_a_supervisor_s_barge_was_refused() -> None:
    session = Session(8, "boss", "17.1", "sam", "PJSIP/1001-0000000a", "17.2", Mode.LISTEN, "PJSIP/1009",
                      "spy-7-ab", NOW - 10, spy_channel="PJSIP/1009-0000000b", answered_at=NOW - 9,
                      note="barge_taken")
    [shown] = build_snapshot(None, {}, {}, {}, NOW, supervision=[session.to_json()])["supervision"]
    assert (shown["mode"], shown["note"]) == ("listen", "barge_taken")
