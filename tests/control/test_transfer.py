"""Blind transfer to a skill: the planner's AMI action, the service's checks and confirmation,
the ticket the IVR takes, and the route the caller gets when back in AGI."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from callcenter.ami import messages
from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.events import AgentHungUp, Transferred
from callcenter.console.pop import ivr_json
from callcenter.control.plan import CallView, Control, Refused, Verb, plan
from callcenter.control.service import ControlService
from callcenter.control.targets import AgentTarget
from callcenter.control.transfers import TransferDesk, TransferTicket
from ivr.effects import OFFER_PROMPTS, CallInfo, Route
from ivr.model import Flow
from ivr.sounds import PromptResolver, SoundIndex
from ivr.steps import InterpreterConfig
from ivr.transfer import last_route, transfer_step
from tests.control.test_service import CALL, talking_call

TALKING = CallView(CALL, live=True, talking=True, caller_channel="PJSIP/pstn-01",
                   agent_channel="PJSIP/1001-02")


def test_the_transfer_is_a_blind_transfer_of_the_agents_channel_to_the_transfer_context() -> None:
    decided = plan(TALKING, Control(), Verb.TRANSFER, target="refunds")
    (action,) = decided.actions
    assert isinstance(action, Action)
    assert (action.name, action.header("Channel"), action.header("Context"),
            action.header("Exten")) == ("BlindTransfer", "PJSIP/1001-02", "cc-transfer", "refunds")
    with pytest.raises(ValueError, match="cannot match"):  # [cc-transfer] matches _[a-z].
        plan(TALKING, Control(), Verb.TRANSFER, target="x")
    with pytest.raises(Refused) as refused:
        plan(CallView(CALL, live=False, talking=False, caller_channel="", agent_channel=""),
             Control(), Verb.TRANSFER)
    assert refused.value.error_id == "call_ended"


class Pbx:
    """Answers every action; a BlindTransfer is confirmed as Asterisk does: the BlindTransfer
    event, then the agent's leg hangs up."""

    def __init__(self, confirm: bool = True) -> None:
        self.sent: list[Action] = []
        self.confirm = confirm
        self.service: ControlService | None = None

    async def send(self, action: Action | messages.Originate) -> AmiResponse:
        rendered = action.action() if isinstance(action, messages.Originate) else action
        self.sent.append(rendered)
        await asyncio.sleep(0)
        if self.confirm and self.service is not None and rendered.name == "BlindTransfer":
            self.service.on_call_event(AgentHungUp(CALL, 6.0, "PJSIP/1001-02", 16))
            self.service.on_call_event(Transferred(CALL, 6.0, "PJSIP/1001-02",
                                                   rendered.header("Exten")))
        return AmiResponse(Frame({"Response": "Success"}, ""))


TARGETS = {"ivan": AgentTarget(True, "refunds"), "olga": AgentTarget(False, "general"),
           "sam": AgentTarget(False, "general")}


def service(pbx: Pbx) -> tuple[ControlService, TransferDesk]:
    call = talking_call()
    desk = TransferDesk()
    svc = ControlService(pbx.send, lambda cid: call if cid == CALL else None,
                         lambda cid: "sam" if cid == CALL else None, lambda agent, message: None,
                         lambda: 10.0, confirm_s=0.2, desk=desk,
                         skills=lambda: {"general", "refunds"}, agents=TARGETS.get)
    pbx.service = svc
    return svc, desk


async def test_given_a_known_skill_then_the_ticket_waits_for_the_caller_and_the_call_is_over() -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    state = await svc.act("sam", CALL, Verb.TRANSFER, skill="refunds", note="refund please")
    assert state["ended"] is True
    assert [(a.name, a.header("Exten")) for a in pbx.sent] == [("BlindTransfer", "refunds")]
    assert desk.take(CALL, 11.0) == TransferTicket(CALL, "refunds", "sam", "refund please", 10.0)
    assert desk.take(CALL, 11.0) is None  # taken once
    assert svc.statistics()["calls"] == 0


@pytest.mark.parametrize(("skill", "note", "status", "error_id"), [
    ("nope", "", 404, "unknown_skill"),
    ("", "", 404, "unknown_skill"),
    ("refunds", "x" * 501, 400, "bad_note"),
])
async def test_given_a_bad_target_then_refused_and_nothing_sent(skill: str, note: str, status: int,
                                                               error_id: str) -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.TRANSFER, skill=skill, note=note)
    assert (refused.value.status, refused.value.error_id) == (status, error_id)
    assert not pbx.sent and len(desk) == 0


async def test_given_asterisk_never_confirms_then_504_and_no_ticket_is_left() -> None:
    pbx = Pbx(confirm=False)
    svc, desk = service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.TRANSFER, skill="refunds")
    assert (refused.value.status, refused.value.error_id) == (504, "transfer_not_confirmed")
    assert len(desk) == 0


def test_a_stale_ticket_is_not_taken() -> None:
    desk = TransferDesk(ttl_s=60.0)
    desk.put(TransferTicket(CALL, "refunds", "sam", "", 10.0))
    assert desk.take(CALL, 71.0) is None


def test_the_transferred_caller_is_routed_with_the_calls_context_tags_and_the_transfer() -> None:
    flow = Flow(id="main", version=1, default_language="en", languages=("en", "zh"), entry="",
                nodes={})
    config = InterpreterConfig(resolver=PromptResolver(SoundIndex({})), fallback_skill="general")
    ticket = TransferTicket(CALL, "refunds", "sam", "refund please", 10.0)
    steps: list[dict[str, Any]] = [{"node": "menu", "kind": "input"},
                                   {"node": "q", "kind": "route", "skill": "general",
                                    "priority": 9, "tags": ["vip"]}]
    step = transfer_step(flow, CallInfo(CALL, "PJSIP/pstn-01", "+86139", "", "100"), config,
                         datetime(2026, 1, 1, tzinfo=UTC), ticket,
                         ("zh", {"customer.id": 7, "order.number": "A1"}), last_route(steps))
    assert isinstance(step.effect, Route)
    requirements = step.effect.requirements
    assert (requirements.skill, requirements.language, requirements.priority, requirements.tags) \
        == ("refunds", "zh", 9, ("transferred", "vip"))
    assert step.effect.context["customer.id"] == 7 and step.effect.context["order.number"] == "A1"
    shown = ivr_json({"language": "zh", "context": dict(step.effect.context), "steps": []})
    assert shown["transfer"] == {"by": "sam", "note": "refund please", "skill": "refunds"}
    assert [e.kind for e in step.path] == ["route"]
    # the target skill's callback offer can be played to the transferred caller
    assert len(step.effect.offer_prompts) == len(OFFER_PROMPTS)


async def test_given_a_double_click_then_one_transfer_goes_out_and_the_other_is_refused() -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    results = await asyncio.gather(
        svc.act("sam", CALL, Verb.TRANSFER, skill="refunds"),
        svc.act("sam", CALL, Verb.TRANSFER, skill="general"), return_exceptions=True)
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(refused) == 1 and refused[0].status == 409, results
    assert [a.name for a in pbx.sent] == ["BlindTransfer"]
    ticket = desk.take(CALL, 11.0)
    assert ticket is not None and ticket.skill == "refunds"



async def test_given_a_ready_agent_then_the_transfer_goes_to_their_skill_held_for_them() -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    await svc.act("sam", CALL, Verb.TRANSFER, to_agent="ivan", note="for you")
    assert [(a.name, a.header("Exten")) for a in pbx.sent] == [("BlindTransfer", "refunds")]
    ticket = desk.take(CALL, 11.0)
    assert ticket is not None and (ticket.skill, ticket.agent) == ("refunds", "ivan")
    assert ticket.context()["transfer.agent"] == "ivan"


@pytest.mark.parametrize(("target", "status", "error_id"), [
    ("nobody", 404, "unknown_agent"), ("olga", 409, "agent_not_ready"), ("sam", 400, "self_transfer"),
])
async def test_given_an_agent_who_cannot_take_it_then_refused_and_nothing_sent(
        target: str, status: int, error_id: str) -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.TRANSFER, to_agent=target)
    assert (refused.value.status, refused.value.error_id) == (status, error_id)
    assert not pbx.sent and len(desk) == 0


def test_a_transfer_from_the_softphone_to_a_skill_gets_a_ticket_without_a_note() -> None:
    svc, desk = service(Pbx())
    svc.on_call_event(Transferred(CALL, 6.0, "PJSIP/1001-02", "refunds"))
    ticket = desk.take(CALL, 7.0)
    assert ticket is not None and (ticket.skill, ticket.by_agent, ticket.note) == ("refunds", "sam", "")
    svc.on_call_event(Transferred(CALL, 8.0, "PJSIP/1001-02", "4711"))  # not a skill: no ticket
    svc.on_call_event(Transferred(CALL, 8.0, "PJSIP/1001-02", "nope"))
    assert len(desk) == 0
