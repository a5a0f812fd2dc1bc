"""The skill a restarted server gives a talk it finds going on (its wrap-up, the KPIs): a
callback's own skill (the ``callbacks`` row of the call it answers), never the IVR's stored
route of another call; any other call's, the IVR's last stored ``queued`` step."""

from __future__ import annotations

from callcenter.calls.model import Call, CallState, Direction
from callcenter.server.resync import restored_skill

QUEUED_REFUNDS = {"ivr_path": [{"kind": "queued", "node": "to_refunds", "skill": "refunds"}]}


def test_given_a_rebuilt_callback_then_its_skill_is_the_callback_row_s_not_the_stored_route() -> None:
    call = Call("cb.1", 0.0, state=CallState.TALKING, direction=Direction.CALLBACK, callback_of="orig.1")
    assert restored_skill(call, QUEUED_REFUNDS, {"orig.1": "general"}) == "general"
    assert restored_skill(call, None, {"orig.1": "general"}) == "general"


def test_given_a_callback_without_its_row_then_the_stored_route_or_nothing() -> None:
    call = Call("cb.1", 0.0, state=CallState.TALKING, direction=Direction.CALLBACK, callback_of="orig.1")
    assert restored_skill(call, QUEUED_REFUNDS, {"other": "general"}) == "refunds"
    assert restored_skill(call, None, {"orig.1": ""}) == ""


def test_given_an_inbound_talk_then_the_stored_route_even_if_a_callback_row_shares_its_id() -> None:
    call = Call("orig.1", 0.0, state=CallState.TALKING, direction=Direction.INBOUND)
    assert restored_skill(call, QUEUED_REFUNDS, {"orig.1": "general"}) == "refunds"
    assert restored_skill(call, None, {}) == ""
