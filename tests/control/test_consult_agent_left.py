"""An agent who hangs up as the consult begins, while Asterisk is still taking the ``Atxfer``
(the colleague's leg does not exist yet): there is no colleague to hand the caller to. The
consult request ends at once, refused as the consult has ended; the colleague is given back to
routing and their screen told; the caller stays where Asterisk leaves them. Once the
colleague's leg exists, the agent's hang-up hands them the caller
(tests/control/test_consult_service.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.calls.events import AgentHungUp, CallEnded
from callcenter.calls.model import HangupBy, Outcome
from callcenter.control.plan import Refused, Verb
from tests.control.test_consult_caller_left import sent_atxfer
from tests.control.test_consult_service import Pbx, desk_service
from tests.control.test_service import CALL


async def test_given_the_atxfer_sent_when_the_agent_hangs_up_then_the_colleague_is_given_back(
        ) -> None:
    pbx = Pbx(silent=True)  # Asterisk takes the Atxfer, the colleague's leg is not there yet
    reserved: list[Any] = []
    svc, (told, _) = desk_service(pbx, reserved=reserved)
    pressed = asyncio.create_task(svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan"))
    await sent_atxfer(pbx)
    svc.on_call_event(AgentHungUp(CALL, 13.0, "PJSIP/1001-02", 16))
    with pytest.raises(Refused) as refused:
        await asyncio.wait_for(pressed, 0.1)  # less than the wait for Asterisk's confirmation
    assert (refused.value.status, refused.value.error_id) == (409, "consult_ended")
    await svc.wait_idle()
    assert reserved == [("ivan", True), ("ivan", False)]  # given back, not talking on the call
    assert svc.consults.completed == 0 and svc.consults.statistics()["consults"] == 0
    assert ("ivan", {"type": "consult_ended", "call_id": CALL}) in told
    assert not [a for a in pbx.sent if a.name in ("PlayDTMF", "Hangup")], "nothing left to undo"
    svc.on_call_event(CallEnded(CALL, 30.0, Outcome.ANSWERED, HangupBy.AGENT, 16, None))
    assert reserved == [("ivan", True), ("ivan", False)], "given back twice"
