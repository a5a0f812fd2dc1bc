"""The consult desk through the control service: each step is confirmed by the tracker's events
(the colleague's leg created, the transfer, the three-way, the colleague's leg ended); bad
targets and steps out of turn are refused and leave the call as it was; a caller who leaves
mid-consult gets both agents' legs hung up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.ami import messages
from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLegCreated,
    AgentLegFailed,
    CallEnded,
    Conferenced,
    ConsultEnded,
    Transferred,
)
from callcenter.calls.model import HangupBy, OfferResult, Outcome
from callcenter.control.consult_service import ConsultDesk
from callcenter.control.plan import Refused, Verb
from callcenter.control.service import ControlService
from callcenter.control.targets import AgentTarget
from tests.control.test_service import CALL, talking_call

IVAN = "PJSIP/1002-07"
AGENTS = {"ivan": AgentTarget(True, "refunds", "PJSIP/1002"),
          "olga": AgentTarget(False, "refunds", "PJSIP/1003")}


class Pbx:
    """Answers every action and reports what Asterisk would (unless ``silent``); the
    colleague's phone answers at once (unless ``ringing``: it rings on)."""

    def __init__(self, silent: bool = False, ringing: bool = False) -> None:
        self.sent: list[Action] = []
        self.digits = ""
        self.silent, self.ringing = silent, ringing
        self.service: ControlService | None = None

    async def send(self, action: Action | messages.Originate) -> AmiResponse:
        rendered = action.action() if isinstance(action, messages.Originate) else action
        self.sent.append(rendered)
        self.digits += rendered.header("Digit") if rendered.name == "PlayDTMF" else ""
        await asyncio.sleep(0)
        if not self.silent and self.service is not None:
            asyncio.get_running_loop().call_soon(self._report, rendered)
        return AmiResponse(Frame({"Response": "Success"}, ""))

    def _report(self, action: Action) -> None:
        assert self.service is not None
        digits = self.digits[-2:]
        if action.name == "Atxfer":
            self.service.on_call_event(AgentLegCreated(CALL, 11.0, "x1", IVAN, "1.7"))
            if not self.ringing:
                self.service.on_call_event(AgentAnswered(CALL, 11.5, "x1", IVAN))
        elif action.name == "PlayDTMF" and digits == "*2":
            self.service.on_call_event(Transferred(CALL, 12.0, "PJSIP/1001-02", "Local/1;1"))
        elif action.name == "PlayDTMF" and digits == "*1":
            self.service.on_call_event(ConsultEnded(CALL, 12.0, IVAN, 16))
        elif action.name == "PlayDTMF" and digits == "*3":
            self.service.on_call_event(Conferenced(CALL, 12.0, "PJSIP/1001-02", "Local/1;1"))


def desk_service(pbx: Pbx, ready: str | None = "ivan", reserved: list[Any] | None = None
                 ) -> tuple[ControlService, list[Any]]:
    call = talking_call()
    told: list[Any] = []
    shared: list[Any] = []
    reserved = reserved if reserved is not None else []
    publish = lambda agent, message: told.append((agent, message))  # noqa: E731
    desk = ConsultDesk(pbx.send, AGENTS.get, lambda skill, besides: ready, lambda: {"refunds"},
                       publish, lambda *args: shared.append(args), lambda: 10.0, confirm_s=0.2,
                       reserve=lambda agent, out: reserved.append((agent, out)))
    svc = ControlService(pbx.send, lambda cid: call if cid == CALL else None,
                         lambda cid: "sam" if cid == CALL else None, publish, lambda: 10.0,
                         confirm_s=0.2, consults=desk)
    pbx.service = svc
    return svc, [told, shared]


async def test_given_a_talking_call_when_consulting_ivan_then_atxfer_and_his_screen_gets_the_pop(
        ) -> None:
    pbx = Pbx(ringing=True)
    svc, (_, shared) = desk_service(pbx)
    state = await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    assert state["consult"] == {"to": "ivan", "stage": "consulting", "since": 10.0,
                                "answered": False}
    atxfer = next(a for a in pbx.sent if a.name == "Atxfer")
    assert atxfer.header("CC-Agent") == "ivan" and atxfer.header("CC-Dial") == "PJSIP/1002"
    assert shared == [("sam", "ivan", CALL, {"by": "sam", "at": 10.0})]
    await svc.wait_idle()
    assert pbx.sent[-1].name == "Setvar" and pbx.sent[-1].header("Value") == "cc-transfer"


@pytest.mark.parametrize(("verb", "stage", "ended"), [
    (Verb.COMPLETE, None, True), (Verb.CANCEL, None, False), (Verb.CONFERENCE, "conference", False)])
async def test_given_a_consult_when_ended_then_confirmed_by_the_trackers_event(
        verb: Verb, stage: str | None, ended: bool) -> None:
    pbx = Pbx()
    svc, _ = desk_service(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    state = await svc.act("sam", CALL, verb)
    assert (state["consult"] or {}).get("stage") == stage
    assert state["ended"] is ended or verb is Verb.COMPLETE


@pytest.mark.parametrize(("body", "status", "error_id"), [
    ({"to_agent": "nobody"}, 404, "unknown_agent"),
    ({"to_agent": "sam"}, 404, "unknown_agent"),
    ({"to_agent": "olga"}, 409, "agent_not_ready"),
    ({"skill": "nope"}, 404, "unknown_skill"),
])
async def test_bad_targets_are_refused_and_nothing_is_sent(
        body: dict[str, str], status: int, error_id: str) -> None:
    pbx = Pbx()
    svc, _ = desk_service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.CONSULT, **body)
    assert (refused.value.status, refused.value.error_id) == (status, error_id)
    assert pbx.sent == [] and svc.consults.consult(CALL) is None


async def test_a_skill_with_nobody_ready_is_409() -> None:
    pbx = Pbx()
    svc, _ = desk_service(pbx, ready=None)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.CONSULT, skill="refunds")
    assert (refused.value.status, refused.value.error_id) == (409, "nobody_ready")


async def test_a_consult_asterisk_never_starts_is_504_and_forgotten() -> None:
    pbx = Pbx(silent=True)
    svc, _ = desk_service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    assert refused.value.status == 504 and svc.consults.consult(CALL) is None


async def test_given_a_consult_when_the_caller_leaves_then_both_agents_legs_are_hung_up() -> None:
    pbx = Pbx()
    svc, (told, _) = desk_service(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    svc.on_call_event(CallEnded(CALL, 15.0, Outcome.ANSWERED, HangupBy.CALLER, 16, None))
    await svc.wait_idle()
    hung_up = {a.header("Channel") for a in pbx.sent if a.name == "Hangup"}
    assert hung_up == {"PJSIP/1001-02", IVAN}
    assert ("ivan", {"type": "call_ended", "call_id": CALL, "outcome": "caller_left"}) in told
    assert svc.consults.consult(CALL) is None


@pytest.mark.parametrize(("verb", "before_the_end"), [
    (Verb.CANCEL, [("ivan", True), ("ivan", False)]),
    (Verb.COMPLETE, [("ivan", True)]),  # he talks on with the caller
    (Verb.CONFERENCE, [("ivan", True)])])
async def test_the_colleague_is_kept_out_of_routing_while_the_consult_or_the_call_needs_him(
        verb: Verb, before_the_end: list[tuple[str, bool]]) -> None:
    pbx = Pbx()
    reserved: list[Any] = []
    svc, _ = desk_service(pbx, reserved=reserved)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    await svc.act("sam", CALL, verb)
    assert reserved == before_the_end
    svc.on_call_event(CallEnded(CALL, 30.0, Outcome.ANSWERED, HangupBy.AGENT, 16, None))
    assert reserved[-1] == ("ivan", False) and reserved.count(("ivan", False)) == 1


async def test_a_second_consult_click_is_consult_busy_even_though_the_colleague_is_now_paused(
        ) -> None:
    pbx = Pbx()
    svc, _ = desk_service(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    AGENTS["ivan"] = AgentTarget(False, "refunds", "PJSIP/1002")  # routing: paused (consult)
    try:
        with pytest.raises(Refused) as refused:
            await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    finally:
        AGENTS["ivan"] = AgentTarget(True, "refunds", "PJSIP/1002")
    assert (refused.value.status, refused.value.error_id) == (409, "consult_busy")



async def test_given_a_three_way_when_the_colleague_leaves_then_he_is_back_to_routing() -> None:
    pbx = Pbx()
    reserved: list[Any] = []
    svc, _ = desk_service(pbx, reserved=reserved)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    await svc.act("sam", CALL, Verb.CONFERENCE)
    svc.on_call_event(ConsultEnded(CALL, 20.0, IVAN, 16))
    assert reserved == [("ivan", True), ("ivan", False)] and svc.consults.consult(CALL) is None
    svc.on_call_event(CallEnded(CALL, 30.0, Outcome.ANSWERED, HangupBy.AGENT, 16, None))
    assert reserved.count(("ivan", False)) == 1


@pytest.mark.parametrize("verb", [Verb.HOLD, Verb.RESUME, Verb.TRANSFER, Verb.HANGUP])
async def test_while_consulting_hold_resume_transfer_and_hang_up_are_consult_under_way(
        verb: Verb) -> None:
    pbx = Pbx()
    svc, _ = desk_service(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    sent = len(pbx.sent)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, verb, skill="refunds")
    assert (refused.value.status, refused.value.error_id) == (409, "consult_under_way")
    assert len(pbx.sent) == sent and svc.consults.consult(CALL) is not None


async def test_in_a_three_way_hang_up_is_leaving_it() -> None:
    pbx = Pbx()
    svc, _ = desk_service(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    await svc.act("sam", CALL, Verb.CONFERENCE)
    state = await svc.act("sam", CALL, Verb.HANGUP)
    hangups = [a for a in pbx.sent if a.name == "Hangup"]
    assert [a.header("Channel") for a in hangups] == ["PJSIP/1001-02"]
    assert state["ended"] is True


async def test_the_agent_hanging_up_their_phone_mid_consult_leaves_the_caller_to_the_colleague(
        ) -> None:
    pbx = Pbx()
    reserved: list[Any] = []
    svc, (told, _) = desk_service(pbx, reserved=reserved)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    svc.on_call_event(AgentHungUp(CALL, 13.0, "PJSIP/1001-02", 16))
    # Asterisk (atxferdropcall=no) completes the transfer: ivan keeps the call
    assert reserved == [("ivan", True)] and svc.consults.completed == 1
    assert not any(agent == "ivan" and m["type"] == "consult_ended" for agent, m in told)
    svc.on_call_event(Transferred(CALL, 13.1, "PJSIP/1001-02", "Local/1;1"))
    svc.on_call_event(CallEnded(CALL, 30.0, Outcome.ANSWERED, HangupBy.AGENT, 16, None))
    assert reserved == [("ivan", True), ("ivan", False)]


async def test_a_colleague_who_never_answers_gives_the_call_bar_its_state_back() -> None:
    pbx = Pbx()
    svc, (told, _) = desk_service(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    told.clear()
    svc.on_call_event(AgentLegFailed(CALL, 40.0, "x1", OfferResult.NO_ANSWER, 19, "noanswer"))
    controls = [m for agent, m in told if agent == "sam" and m["type"] == "control"]
    assert controls and controls[-1]["consult"] is None and controls[-1]["ended"] is False
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.COMPLETE)
    assert refused.value.error_id == "no_consult"


async def test_a_consult_not_confirmed_in_time_is_cancelled_in_asterisk_before_forgotten(
        ) -> None:
    pbx = Pbx(silent=True)
    reserved: list[Any] = []
    svc, _ = desk_service(pbx, reserved=reserved)
    with pytest.raises(Refused):
        await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    after = pbx.sent[[a.name for a in pbx.sent].index("Atxfer") + 1:]
    assert [(a.name, a.header("Channel"), a.header("Digit")) for a in after] == [
        ("PlayDTMF", "PJSIP/1001-02", "*"), ("PlayDTMF", "PJSIP/1001-02", "1")]
    assert reserved == [("ivan", True), ("ivan", False)]


class _LeavesAtOnce(Pbx):
    """The colleague hangs up in the same instant the three-way begins."""

    def _report(self, action: Action) -> None:
        super()._report(action)
        if action.name == "PlayDTMF" and self.digits[-2:] == "*3":
            assert self.service is not None
            self.service.on_call_event(ConsultEnded(CALL, 12.0, IVAN, 16))


async def test_a_consult_that_ends_as_the_three_way_begins_is_no_server_error() -> None:
    pbx = _LeavesAtOnce()
    reserved: list[Any] = []
    svc, _ = desk_service(pbx, reserved=reserved)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    state = await svc.act("sam", CALL, Verb.CONFERENCE)
    assert state["consult"] is None and state["ended"] is False
    assert reserved == [("ivan", True), ("ivan", False)]


@pytest.mark.parametrize("ending", [
    Transferred(CALL, 12.0, "PJSIP/1001-02", "Local/1;1"),
    AgentHungUp(CALL, 12.0, "PJSIP/1001-02", 16),
    ConsultEnded(CALL, 12.0, IVAN, 16)])
async def test_routing_hears_of_a_take_over_only_when_the_colleague_has_the_caller(
        ending: Any) -> None:
    pbx = Pbx()
    took: list[tuple[str, str]] = []
    desk = ConsultDesk(pbx.send, AGENTS.get, lambda skill, besides: "ivan", lambda: {"refunds"},
                       lambda *_: None, lambda *_: None, lambda: 10.0, confirm_s=0.2,
                       took=lambda call_id, agent: took.append((call_id, agent)))
    call = talking_call()
    svc = ControlService(pbx.send, lambda cid: call if cid == CALL else None,
                         lambda cid: "sam" if cid == CALL else None, lambda *_: None,
                         lambda: 10.0, confirm_s=0.2, consults=desk)
    pbx.service = svc
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    svc.on_call_event(ending)
    assert took == ([] if isinstance(ending, ConsultEnded) else [(CALL, "ivan")])


def talk_desk(pbx: Pbx, told: list[Any] | None = None
              ) -> tuple[ControlService, list[Any], list[Any]]:
    """A desk whose routing hears both ways a consult gives the colleague back (``told``: what
    the agents' screens hear)."""
    reserved: list[Any] = []
    talked: list[Any] = []
    said = told if told is not None else []
    publish = lambda agent, message: said.append((agent, message))  # noqa: E731
    desk = ConsultDesk(pbx.send, AGENTS.get, lambda skill, besides: "ivan", lambda: {"refunds"},
                       publish, lambda *_: None, lambda: 10.0, confirm_s=0.2,
                       reserve=lambda agent, out: reserved.append((agent, out)),
                       talked=lambda call_id, agent, skill: talked.append((call_id, agent, skill)),
                       skill_of=lambda call_id: "general" if call_id == CALL else "")
    call = talking_call()
    svc = ControlService(pbx.send, lambda cid: call if cid == CALL else None,
                         lambda cid: "sam" if cid == CALL else None, publish,
                         lambda: 10.0, confirm_s=0.2, consults=desk)
    pbx.service = svc
    return svc, reserved, talked


async def test_given_the_colleague_answered_when_the_consult_is_cancelled_then_he_wraps_up_like_after_any_talk(
        ) -> None:
    pbx = Pbx()
    svc, reserved, talked = talk_desk(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    await svc.act("sam", CALL, Verb.CANCEL)  # the colleague's answered leg ends: ConsultEnded
    assert talked == [(CALL, "ivan", "general")]
    assert reserved == [("ivan", True)]  # not handed straight back to routing


async def test_given_the_colleague_never_answered_when_the_consult_ends_then_he_is_back_at_once(
        ) -> None:
    pbx = Pbx()
    svc, reserved, talked = talk_desk(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    svc.on_call_event(AgentLegFailed(CALL, 40.0, "x1", OfferResult.CANCELLED, 16, "cancelled"))
    assert talked == [] and reserved == [("ivan", True), ("ivan", False)]


async def test_given_the_colleague_leaves_a_three_way_then_he_wraps_up_like_after_any_talk() -> None:
    pbx = Pbx()
    svc, reserved, talked = talk_desk(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    await svc.act("sam", CALL, Verb.CONFERENCE)
    svc.on_call_event(ConsultEnded(CALL, 20.0, IVAN, 16))
    assert talked == [(CALL, "ivan", "general")] and reserved == [("ivan", True)]


CALLER_LEFT = CallEnded(CALL, 15.0, Outcome.ANSWERED, HangupBy.CALLER, 16, None)


@pytest.mark.parametrize("three_way", [False, True])
async def test_given_the_colleague_answered_when_the_caller_leaves_then_he_wraps_up_on_the_calls_skill(
        three_way: bool) -> None:
    pbx = Pbx()
    told: list[Any] = []
    svc, reserved, talked = talk_desk(pbx, told)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    if three_way:
        await svc.act("sam", CALL, Verb.CONFERENCE)
    svc.on_call_event(CALLER_LEFT)
    await svc.wait_idle()
    assert talked == [(CALL, "ivan", "general")] and reserved == [("ivan", True)]
    assert {a.header("Channel") for a in pbx.sent if a.name == "Hangup"} == {"PJSIP/1001-02", IVAN}
    assert ("ivan", {"type": "call_ended", "call_id": CALL, "outcome": "caller_left"}) in told
    assert svc.consults.consult(CALL) is None


async def test_given_the_colleagues_phone_rings_when_the_caller_leaves_then_it_stops_and_he_is_back_at_once(
        ) -> None:
    pbx = Pbx(ringing=True)
    told: list[Any] = []
    svc, reserved, talked = talk_desk(pbx, told)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    svc.on_call_event(CALLER_LEFT)
    await svc.wait_idle()
    assert talked == [] and reserved == [("ivan", True), ("ivan", False)]
    assert IVAN in {a.header("Channel") for a in pbx.sent if a.name == "Hangup"}  # no more ringing
    to_ivan = [m["type"] for agent, m in told if agent == "ivan"]
    assert to_ivan == ["consult_ended"], to_ivan  # his pop goes, no call to wrap up


@pytest.mark.parametrize("verb", [Verb.COMPLETE, Verb.CONFERENCE])
async def test_given_the_colleagues_phone_rings_when_completing_or_joining_then_409_until_he_answers(
        verb: Verb) -> None:
    pbx = Pbx(ringing=True)
    told: list[Any] = []
    svc, _, _ = talk_desk(pbx, told)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    sent = len(pbx.sent)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, verb)
    assert (refused.value.status, refused.value.error_id) == (409, "colleague_ringing")
    assert "ringing" in refused.value.message
    assert len(pbx.sent) == sent, "nothing sent to Asterisk: no blind transfer, no three-way"
    consult = svc.consults.consult(CALL)
    assert consult is not None and not consult.answered
    told.clear()
    svc.on_call_event(AgentAnswered(CALL, 14.0, "x1", IVAN))
    # the agent's call bar hears he answered: Complete and Conference may go now
    [bar] = [m for agent, m in told if agent == "sam" and m["type"] == "control"]
    assert bar["consult"]["answered"] is True, bar
    state = await svc.act("sam", CALL, verb)
    assert state["ended"] is (verb is Verb.COMPLETE)


async def test_another_channels_answer_is_not_the_colleagues() -> None:
    pbx = Pbx(ringing=True)
    svc, _, _ = talk_desk(pbx)
    await svc.act("sam", CALL, Verb.CONSULT, to_agent="ivan")
    svc.on_call_event(AgentAnswered(CALL, 14.0, "o9", "PJSIP/1009-01"))
    consult = svc.consults.consult(CALL)
    assert consult is not None and not consult.answered
