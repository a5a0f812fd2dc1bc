"""Blind transfer to an outside number: the allow-list (directory codes, patterns, anything else
400 and nothing sent), the AMI action into [cc-external], the ticket that brings a caller
nobody answered back to routing for the call's own skill, and the directory file's errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from callcenter.ami.messages import Action
from callcenter.calls.events import CallEnded
from callcenter.calls.model import HangupBy, Outcome
from callcenter.control.external import (
    ExternalConfigError,
    load_external_numbers,
    parse_external_numbers,
    plan_outside,
)
from callcenter.control.plan import Control, Refused, Verb
from callcenter.control.service import ControlService
from callcenter.control.transfers import TransferDesk, TransferTicket
from ivr.effects import CallInfo, Route
from ivr.model import Flow
from ivr.sounds import PromptResolver, SoundIndex
from ivr.steps import InterpreterConfig
from ivr.transfer import last_route, transfer_step
from tests.control.test_service import CALL, talking_call
from tests.control.test_transfer import TALKING, TARGETS, Pbx

REPO = Path(__file__).resolve().parents[2]
DIRECTORY = parse_external_numbers({
    "destinations": [{"code": "warehouse", "number": "+861055500100",
                      "label": {"en": "Warehouse", "zh-CN": "仓库"}}],
    "patterns": [r"^\+86400[0-9]{7}$"]})


def service(pbx: Pbx) -> tuple[ControlService, TransferDesk]:
    call = talking_call()
    desk = TransferDesk()
    svc = ControlService(pbx.send, lambda cid: call if cid == CALL else None,
                         lambda cid: "sam" if cid == CALL else None, lambda agent, message: None,
                         lambda: 10.0, confirm_s=0.2, desk=desk,
                         skills=lambda: {"general", "refunds"}, agents=TARGETS.get,
                         outside=DIRECTORY)
    pbx.service = svc
    return svc, desk


def test_the_outside_transfer_is_a_blind_transfer_into_the_external_context() -> None:
    decided = plan_outside(TALKING, Control(held=True, hold_token="123456789"), "+861055500100")
    stop, transfer = decided.actions
    assert isinstance(stop, Action) and stop.name == "Hangup"  # the hold music stops first
    assert isinstance(transfer, Action)
    assert (transfer.name, transfer.header("Channel"), transfer.header("Context"),
            transfer.header("Exten")) == ("BlindTransfer", "PJSIP/1001-02", "cc-external",
                                          "+861055500100")
    assert decided.state.ended and not decided.state.held


@pytest.mark.parametrize(("asked", "number"), [
    ("warehouse", "+861055500100"), ("+86 400-123 4567", "+864001234567")])
async def test_given_an_allowed_destination_then_dialled_and_a_ticket_for_a_failed_dial(
        asked: str, number: str) -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    state = await svc.act("sam", CALL, Verb.TRANSFER, number=asked, note="parcel lost")
    assert state["ended"] is True
    assert [(a.name, a.header("Context"), a.header("Exten")) for a in pbx.sent] == [
        ("BlindTransfer", "cc-external", number)]
    ticket = desk.take(CALL, 11.0)
    assert ticket is not None and (ticket.skill, ticket.by_agent, ticket.number) == (
        "", "sam", number)
    assert ticket.context()["transfer.outside_failed"] is True


@pytest.mark.parametrize("asked", ["+8619012345678", "900", "+86400123456", "warehouse2",
                                   "+864001234567;evil", "00441234567890"])
async def test_given_a_number_not_allowed_then_400_and_nothing_dialled(asked: str) -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.TRANSFER, number=asked)
    assert (refused.value.status, refused.value.error_id) == (400, "number_not_allowed")
    assert not pbx.sent and len(desk) == 0 and svc.refused == 1


async def test_given_no_directory_then_every_outside_number_is_refused() -> None:
    pbx = Pbx()
    svc, _ = service(pbx)
    svc.outside = parse_external_numbers(None)
    with pytest.raises(Refused):
        await svc.act("sam", CALL, Verb.TRANSFER, number="+861055500100")
    assert not pbx.sent


async def test_an_answered_outside_number_leaves_no_ticket_once_the_call_ends() -> None:
    pbx = Pbx()
    svc, desk = service(pbx)
    await svc.act("sam", CALL, Verb.TRANSFER, number="warehouse")
    assert len(desk) == 1
    svc.on_call_event(CallEnded(CALL, 60.0, Outcome.ANSWERED, HangupBy.CALLER, 16, None))
    assert len(desk) == 0


def test_a_caller_back_from_an_unanswered_number_is_routed_to_the_calls_own_skill() -> None:
    flow = Flow(id="main", version=1, default_language="en", languages=("en",), entry="", nodes={})
    config = InterpreterConfig(resolver=PromptResolver(SoundIndex(frozenset())), fallback_skill="general")
    ticket = TransferTicket(CALL, "", "sam", "parcel lost", 10.0, number="+861055500100")
    route = last_route([{"kind": "route", "skill": "refunds", "priority": 3, "tags": []}])
    step = transfer_step(flow, CallInfo(CALL, "PJSIP/pstn-01", "+86139", "", "100"), config,
                         datetime(2026, 1, 1, tzinfo=UTC), ticket, ("en", {}), route)
    assert isinstance(step.effect, Route)
    assert (step.effect.requirements.skill, step.effect.requirements.tags) == (
        "refunds", ("transferred",))
    assert step.effect.context["transfer.outside_failed"] is True


@pytest.mark.parametrize(("data", "error"), [
    ({"destinations": [{"code": "w", "number": "12ab", "label": {"en": "W"}}]},
     "destinations[0].number"),
    ({"destinations": [{"code": "w", "number": "123", "label": {"zh-CN": "仓"}}]},
     "label.en: missing"),
    ({"patterns": ["("]}, "patterns[0]"),
    ({"destinations": [{"code": "w", "number": "123", "label": {"en": "A"}},
                       {"code": "w", "number": "456", "label": {"en": "B"}}]}, "once"),
    ({"numbers": []}, "numbers"),
])
def test_a_bad_directory_file_names_the_field(data: object, error: str) -> None:
    with pytest.raises(ExternalConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        parse_external_numbers(data)


def test_the_shipped_directory_loads_with_labels_in_both_languages() -> None:
    shipped = load_external_numbers(REPO / "config" / "external_numbers.yaml")
    listed = shipped.to_json()
    assert listed and all({"en", "zh-CN"} <= set(d["label"]) for d in listed)
    assert all(d["number"].count("*") >= 5 for d in listed)  # masked for the console
    assert load_external_numbers(REPO / "nope.yaml").to_json() == []
