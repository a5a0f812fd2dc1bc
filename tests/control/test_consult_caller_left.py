"""A caller who hangs up as the consult begins, while Asterisk is still taking the ``Atxfer``
(the colleague's leg does not exist yet): the consult request ends at once, refused as the
call has ended, instead of waiting for a leg that will not come and then cancelling a consult
that is already over; the colleague is given back to routing once. A caller gone before the
``Atxfer`` went out (or while Asterisk refuses it, the channel gone) is the same refusal: no
``Atxfer`` is sent on a call that is over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.ami import messages
from callcenter.ami.errors import AmiActionFailed
from callcenter.ami.messages import Action, AmiResponse
from callcenter.calls.events import CallEnded
from callcenter.calls.model import HangupBy, Outcome
from callcenter.control.plan import Refused, Verb
from tests.control.test_consult_service import Pbx, desk_service
from tests.control.test_service import CALL


async def sent_atxfer(pbx: Pbx) -> None:
    for _ in range(100):
        if any(a.name == "Atxfer" for a in pbx.sent):
            return
        await asyncio.sleep(0)
    raise AssertionError(f"no Atxfer in {pbx.sent}")


async def test_given_the_atxfer_sent_when_the_caller_leaves_then_the_consult_is_refused_at_once(
        ) -> None:
    pbx = Pbx(silent=True)  # Asterisk takes the Atxfer, the colleague's leg is not there yet
    reserved: list[Any] = []
    svc, (told, _) = desk_service(pbx, reserved=reserved)
    pressed = asyncio.create_task(svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan"))
    await sent_atxfer(pbx)
    svc.on_call_event(CallEnded(CALL, 15.0, Outcome.ANSWERED, HangupBy.CALLER, 16, None))
    with pytest.raises(Refused) as refused:
        await asyncio.wait_for(pressed, 0.1)  # less than the wait for Asterisk's confirmation
    assert (refused.value.status, refused.value.error_id) == (409, "call_ended")
    await svc.wait_idle()
    assert reserved == [("ivan", True), ("ivan", False)]  # given back once, by the call's end
    assert [a.header("Channel") for a in pbx.sent if a.name == "Hangup"] == ["PJSIP/1001-02"]
    assert not [a for a in pbx.sent if a.name == "PlayDTMF"], "a consult already over cancelled"
    assert svc.consults.consult(CALL) is None and svc.consults.statistics()["consults"] == 0
    assert ("ivan", {"type": "consult_ended", "call_id": CALL}) in told



class LeftBetween(Pbx):
    """The caller hangs up once the Setvar went out: the call's end is reported before the
    Atxfer is sent (``before``), or while Asterisk takes it; Asterisk then answers that the
    agent's channel, gone with the call, does not exist."""

    def __init__(self, before: bool) -> None:
        super().__init__(silent=True)
        self.before = before

    def _left(self) -> None:
        assert self.service is not None
        self.service.on_call_event(CallEnded(CALL, 15.0, Outcome.ANSWERED, HangupBy.CALLER, 16, None))

    async def send(self, action: Action | messages.Originate) -> AmiResponse:
        response = await super().send(action)
        name = self.sent[-1].name
        if name == "Setvar" and self.before:
            self._left()
        elif name == "Atxfer":
            if not self.before:
                self._left()
            raise AmiActionFailed("Atxfer", "Channel specified does not exist")
        return response


@pytest.mark.parametrize("before", [True, False], ids=["before_the_atxfer", "during_the_atxfer"])
async def test_given_the_caller_gone_between_the_setvar_and_the_atxfer_then_the_consult_is_refused_as_the_call_ended(
        before: bool) -> None:
    pbx = LeftBetween(before)
    reserved: list[Any] = []
    svc, _ = desk_service(pbx, reserved=reserved)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    assert (refused.value.status, refused.value.error_id) == (409, "call_ended")
    await svc.wait_idle()
    assert [a.name for a in pbx.sent if a.name == "Atxfer"] == ([] if before else ["Atxfer"])
    assert reserved == [("ivan", True), ("ivan", False)]
