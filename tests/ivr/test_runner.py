"""The AsyncAGI runner against a fake AGI link that answers with Asterisk 22's real result strings,
started by the real AsyncAGIStart frames of shared/asterisk-lab."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog.testing
import yaml

from callcenter.ami.errors import AgiChannelGone
from callcenter.ami.messages import AmiEvent
from callcenter.orders.model import Customer, CustomerContext, Order, OrderContext, Shipment
from callcenter.settings import IvrSettings
from ivr.effects import RouteRequirements
from ivr.model import Scalar
from ivr.registry import FlowRegistry
from ivr.runner import IvrRunner
from ivr.validate import Checks, load_skills
from tests.ivr.fakes import (
    HUNG_UP,
    INVALID,
    MISSING_PROMPT,
    MOH_DONE,
    PLAYED,
    Callbacks,
    FakeAgi,
    Orders,
    Recorder,
    Router,
    captured,
    event,
    key,
    retarget,
    settle,
)
from tests.ivr.helpers import MONDAY_10, SHANGHAI

ROOT = Path(__file__).resolve().parents[2]
SKILLS = load_skills(ROOT / "config" / "skills.yaml")
START = captured("ivr_route_record", "AsyncAGIStart")  # Local/4001@inbound-00000006;2, Ring
CHANNEL = START.channel
CALL = START.linkedid
ALICE = Customer(7, "Alice Chen", "13800000001", None, "standard", "en")
ORDER = Order(71, "10000011", "shipped", 39900, "CNY", datetime(2026, 11, 18, 9, tzinfo=UTC),
              shipments=(Shipment("SF Express", "SF123456789012", "in_transit",
                                  datetime(2026, 11, 20, 8, tzinfo=SHANGHAI), None),))


class Line:
    """A runner with fakes around it, on the shipped flows (or flows in ``folder``)."""

    def __init__(self, folder: Path = ROOT / "config" / "ivr", now: datetime = MONDAY_10,
                 **settings: object) -> None:
        self.agi = FakeAgi()
        self.recorder = Recorder()
        self.router = Router()
        self.orders = Orders()
        self.callbacks = Callbacks()
        self.registry = FlowRegistry([folder], Checks(skills=SKILLS))
        self.registry.reload()
        self.caught: list[str] = []
        self.runner = IvrRunner(self.agi, self.registry, self.recorder, self.router, self.orders,
                                self.callbacks, settings=IvrSettings(sink_timeout_s=2.0, **settings),
                                clock=lambda: now, caught=self.caught.append)
        self.agi.exec_started = lambda event: self.runner.on_event(event)

    def path(self) -> list[str]:
        return self.recorder.kinds(CALL)

    async def held(self) -> None:
        """Until the caller hears hold music and the call went to the router (in that order:
        the hold starts before the router may offer the call)."""
        await asyncio.wait_for(self.agi.waiting.wait(), 5)
        await asyncio.wait_for(self.router.entered.wait(), 5)


# --- a whole call ----------------------------------------------------------------------------

async def test_given_unknown_caller_picks_chinese_and_asks_order_status_then_hears_it_and_is_routed() -> None:
    line = Line()
    line.orders.orders["10000011"] = OrderContext(ORDER, ALICE)
    line.agi.keys = [key("2"), key("1"), key("10000011"), key("0")]
    line.runner.on_event(START)
    await line.held()  # on hold now

    assert line.agi.commands[:3] == ["ANSWER", "SET VARIABLE CC_IVR active", "GET DATA choose-language 4000 1"]
    assert line.agi.played() == [
        "choose-language", "zh/welcome", "zh/main-menu", "zh/enter-order-number",
        "zh/order-status-is", "zh/status-in-transit",
        "zh/status-updated-on", "zh/digits/10", "zh/digits/1", "zh/digits/month-suffix", "zh/digits/2",
        "zh/digits/10", "zh/digits/day-suffix", "zh/after-status-menu", "zh/connecting-agent"]
    # queued behind the route prompt, the first stretch is at most half the command timeout
    assert line.agi.commands[-2:] == ["SET VARIABLE CC_IVR routed", "EXEC MusicOnHold default,30"]
    ((call_id, channel, requirements, context),) = line.router.queued
    assert (call_id, channel) == (CALL, CHANNEL)
    assert requirements == RouteRequirements("orders", 1, "zh", 0, ())
    assert context["order.number"] == "10000011" and context["shipment.status"] == "in_transit"

    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))  # the router bridged an agent in
    await settle(line.runner)
    assert line.recorder.end(CALL) == "bridged"
    assert line.recorder.context[CALL]["language"] == "zh"
    assert line.recorder.bound == {CALL}  # bind_call(linkedid) inside the call's task
    kinds = line.path()
    assert kinds[0] == "start" and "queued" in kinds and kinds[-1] == "end"


async def test_given_known_vip_caller_with_chinese_profile_then_no_language_menu_and_vip_skill() -> None:
    line = Line()
    line.orders.customers["13800000001"] = CustomerContext(
        Customer(3, "陈丽华", "13800000001", None, "vip", "zh"), (ORDER,))
    line.runner.on_event(START)
    await line.held()
    assert line.agi.played() == ["zh/welcome", "zh/vip-welcome"]
    assert line.router.queued[0][2] == RouteRequirements("vip", 3, "zh", 9, ("vip",))
    line.runner.on_event(event("Hangup", CHANNEL, CALL, Cause="16"))
    await settle(line.runner)
    assert line.recorder.end(CALL) == "hangup"


async def test_given_out_of_hours_when_caller_asks_for_callback_with_hash_then_ticket_for_caller_id() -> None:
    sunday = datetime(2026, 11, 29, 22, 0, tzinfo=SHANGHAI)
    line = Line(now=sunday)
    line.agi.keys = [key("1"), key("1"), key("")]  # English, callback, "#" = my number
    line.runner.on_event(START)
    await settle(line.runner)
    assert "en/closed" in line.agi.played()
    (request,) = line.callbacks.requests
    assert (request.call_id, request.number, request.language) == (CALL, "13800000001", "en")
    assert request.caller_name == "Alice Chen"
    assert line.agi.commands[-1] == "HANGUP"
    assert line.recorder.context[CALL]["callback.ticket_id"] == 101
    assert line.recorder.end(CALL) == "hangup"


# --- hang-ups, errors, fallbacks ---------------------------------------------------------------

async def test_given_caller_hangs_up_during_a_menu_then_call_cleaned_up_and_never_routed() -> None:
    line = Line()
    line.agi.keys = [key("1"), AgiChannelGone(f"{CHANNEL}: Hangup before the AGI result")]
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.router.queued == []
    assert line.recorder.end(CALL) == "caller_gone"
    assert line.runner.statistics()["active"] == 0


async def test_given_get_data_answers_minus_one_then_call_ends_as_agi_ended() -> None:
    line = Line()
    line.agi.keys = [HUNG_UP]
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.recorder.end(CALL) == "agi_ended"


async def test_given_hangup_event_while_a_command_never_answers_then_task_ends() -> None:
    line = Line()
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    line.agi.keys = [never]
    line.runner.on_event(START)
    await asyncio.wait_for(line.agi.waiting.wait(), 5)
    line.runner.on_event(event("Hangup", CHANNEL, CALL, Cause="16"))
    await settle(line.runner)
    assert line.recorder.end(CALL) == "hangup"


async def test_given_agi_error_then_call_goes_to_the_general_skill_instead_of_dropping() -> None:
    line = Line()
    line.agi.keys = [key("1")]
    line.agi.script = [("STREAM FILE en/welcome", INVALID)]
    line.runner.on_event(START)
    await line.held()
    assert line.router.queued[0][2].skill == "general"
    assert "fallback" in line.path() and "error" in line.path()
    assert line.agi.played()[-1] == "en/connecting-agent"


async def test_given_missing_prompt_then_agi_ends_and_the_dialplan_fallback_agi_routes_to_general() -> None:
    line = Line()
    line.agi.keys = [key("2")]
    line.agi.script = [("STREAM FILE zh/welcome", MISSING_PROMPT)]
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.recorder.end(CALL) == "agi_ended"
    assert line.router.queued == []
    # [ivr-fallback] runs AGI(agi:async) again on the same channel
    line.runner.on_event(retarget(START, Context="ivr-fallback", Exten="s", ChannelState="6"))
    await line.held()
    assert line.router.queued[0][2] == RouteRequirements("general", 1, "zh", 0, ())
    assert line.agi.commands[-2:] == ["SET VARIABLE CC_IVR routed", "EXEC MusicOnHold default"]


async def routed_while_the_prompt_plays() -> tuple[Line, asyncio.Future[str]]:
    """A Chinese caller keys "0" (to_general); the route prompt is still playing (its result is
    the future) when the IVR has queued the routed mark and the hold behind it."""
    line = Line()
    line.agi.keys = [key("2"), key("0")]
    prompt: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    line.agi.script = [("STREAM FILE zh/connecting-agent", prompt)]
    line.runner.on_event(START)
    for _ in range(200):
        if any(c.startswith("EXEC MusicOnHold") for c in line.agi.commands):
            break
        await asyncio.sleep(0)
    return line, prompt


async def test_given_route_prompt_playing_then_routed_and_hold_are_queued_behind_it_and_routing_waits_for_its_end() -> None:
    line, prompt = await routed_while_the_prompt_plays()
    assert line.agi.commands[-3:] == ['STREAM FILE zh/connecting-agent ""', "SET VARIABLE CC_IVR routed",
                                      "EXEC MusicOnHold default,30"]
    assert line.router.prepared == [CALL]  # the routing facts are looked up meanwhile
    await asyncio.sleep(0.05)
    assert line.router.queued == []  # not before the prompt has played
    prompt.set_result(PLAYED)
    await line.held()
    assert line.router.queued[0][2] == RouteRequirements("general", 1, "zh", 0, ())
    assert [c for c in line.agi.commands if c.startswith(("SET VARIABLE CC_IVR routed", "EXEC MusicOnHold"))] \
        == ["SET VARIABLE CC_IVR routed", "EXEC MusicOnHold default,30"]  # sent once


async def test_given_route_prompt_fails_then_the_hold_queued_behind_it_is_dropped_and_the_call_not_queued() -> None:
    line, prompt = await routed_while_the_prompt_plays()
    prompt.set_result(MISSING_PROMPT)  # AGI ends: Asterisk never starts what was queued behind
    await settle(line.runner)
    assert line.recorder.end(CALL) == "agi_ended"
    assert line.router.queued == []
    assert line.agi.commands[-2:] == ["SET VARIABLE CC_IVR routed", "EXEC MusicOnHold default,30"]


def show_channel(application: str, context: str = "inbound") -> AmiEvent:
    """A ``CoreShowChannel`` item of the test's caller channel."""
    return event("CoreShowChannel", CHANNEL, CALL, Uniqueid=CALL, Context=context, Extension="4001",
                 Application=application, ChannelState="6", CallerIDNum="13800000001")


async def test_given_restart_when_inbound_caller_is_in_hold_music_nobody_queued_then_the_flow_starts_again() -> None:
    line = Line()
    adopted = line.runner.adopt([show_channel("MusicOnHold")], lambda start, kind: True)
    assert adopted == [CHANNEL]
    await asyncio.sleep(0.05)
    assert line.agi.commands[0] == "SET VARIABLE CC_IVR active"  # behind the music, then the flow
    await line.runner.close()


async def test_given_restart_when_music_runs_elsewhere_or_the_caller_is_queued_then_nothing_is_adopted() -> None:
    line = Line()
    assert line.runner.adopt([show_channel("MusicOnHold", "survey")], lambda start, kind: True) == []
    assert line.runner.adopt([show_channel("MusicOnHold")], lambda start, kind: False) == []
    assert line.runner.adopt([show_channel("Dial")], lambda start, kind: True) == []
    assert line.agi.commands == []


async def test_given_router_down_in_the_fallback_then_call_given_back_to_the_dialplan_safety_net() -> None:
    line = Line()
    line.router.failure = ConnectionError("router unreachable")
    line.runner.on_event(retarget(START, Context="ivr-fallback", Exten="s", ChannelState="6"))
    await settle(line.runner)
    assert line.agi.commands[-2:] == ["SET VARIABLE CC_IVR failed", "ASYNCAGI BREAK"]
    assert str(line.recorder.end(CALL)).startswith("returned to dialplan")


async def test_given_ami_link_down_mid_call_then_the_task_gives_up_instead_of_spinning() -> None:
    from callcenter.ami.errors import AmiLinkLost

    line = Line()
    pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    line.agi.keys = [pending]
    line.runner.on_event(START)
    await asyncio.wait_for(line.agi.waiting.wait(), 5)
    line.agi.broken = AmiLinkLost("AGI on channel: AMI link lost")
    pending.set_exception(AmiLinkLost("AGI on channel: AMI link lost"))
    await settle(line.runner)
    assert str(line.recorder.end(CALL)).startswith("gave_up: AmiLinkLost")
    assert len(line.agi.commands) < 20


async def test_given_lookup_provider_down_then_call_carries_on_with_the_language_menu() -> None:
    line = Line()
    line.orders.broken = True
    line.agi.keys = [key("1"), key("0")]
    line.runner.on_event(START)
    await line.held()
    assert line.agi.played()[:2] == ["choose-language", "en/welcome"]
    assert line.router.queued[0][2].skill == "general"
    assert "ivr_lookup_failed" in line.caught  # lived with, and counted


async def test_given_ticket_store_failing_then_apology_and_voicemail_instead_of_a_dropped_call() -> None:
    line = Line(now=datetime(2026, 11, 29, 22, 0, tzinfo=SHANGHAI))

    async def broken_callback(request: object) -> int:
        raise RuntimeError("database went away")

    line.callbacks.create_callback = broken_callback
    line.agi.keys = [key("1"), key("1"), key("")]
    line.runner.on_event(START)
    await settle(line.runner)
    assert "en/callback-failed" in line.agi.played()
    assert any(c.startswith("RECORD FILE /var/spool/asterisk/ivr-messages/") for c in line.agi.commands)
    assert line.recorder.end(CALL) == "hangup"


async def test_given_router_raising_then_flow_fallback_then_safe_route_then_dialplan() -> None:
    line = Line()
    line.router.failure = RuntimeError("router bug")
    line.agi.keys = [key("1"), key("4")]
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.agi.commands[-2:] == ["SET VARIABLE CC_IVR failed", "ASYNCAGI BREAK"]
    assert line.path().count("fallback") == 2


async def test_given_interpreter_bug_then_call_is_routed_to_general(monkeypatch: pytest.MonkeyPatch) -> None:
    from ivr import interpreter

    real = interpreter.advance
    calls = {"n": 0}

    def buggy(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyError("bug")
        return real(*args)

    monkeypatch.setattr("ivr.interpreter.advance", buggy)
    line = Line()
    line.agi.keys = [key("1")]
    line.runner.on_event(START)
    await line.held()
    assert line.router.queued[0][2] == RouteRequirements("general", 1, "en", 0, ())


# --- hold, overflow, bridge, survey ------------------------------------------------------------

async def test_given_hold_reaches_max_wait_then_router_gives_call_back_and_callback_is_offered() -> None:
    line = Line()
    line.agi.keys = [key("1"), key("4"), key("1"), key("")]  # English, complaint, callback, "#"
    line.agi.moh = [MOH_DONE, MOH_DONE]  # the first stretch (queued behind the prompt), the rest
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.router.queued[0][2] == RouteRequirements("complaints", 1, "en", 6, ("complaint",))
    assert line.router.withdrawn == [CALL]
    holds = [c for c in line.agi.commands if c.startswith("EXEC MusicOnHold")]
    assert holds[:2] == ["EXEC MusicOnHold default,30", "EXEC MusicOnHold default,570"]
    assert "SET VARIABLE CC_IVR active" in line.agi.commands[line.agi.commands.index("EXEC MusicOnHold default,570"):]
    assert "en/long-wait-callback" in line.agi.played()
    assert line.callbacks.requests[0].number == "13800000001"


async def test_given_hold_reaches_max_wait_but_agent_already_ringing_then_caller_keeps_holding() -> None:
    line = Line()
    line.router.give_back = False
    line.agi.keys = [key("1"), key("4")]
    line.agi.moh = [MOH_DONE, MOH_DONE]  # the first stretch (queued behind the prompt), the rest
    line.runner.on_event(START)
    for _ in range(100):
        if line.agi.commands[-1:] == ["EXEC MusicOnHold default"]:
            break
        await asyncio.sleep(0)
    assert line.agi.commands[-1] == "EXEC MusicOnHold default"
    line.runner.on_event(event("BridgeEnter", CHANNEL, CALL))
    await settle(line.runner)
    assert line.recorder.end(CALL) == "bridged"


async def test_given_caller_on_hold_when_agent_hangs_up_first_then_survey_takes_over_the_channel() -> None:
    line = Line()
    line.agi.keys = [key("2"), key("0")]
    line.runner.on_event(START)
    await line.held()
    line.agi.keys = [key("5")]
    # post_call_survey: the agent leg's Bridge(...,F(survey^s^1)) sends the caller into [survey];
    # the MusicOnHold it was running never gets an AsyncAGIExec.
    line.runner.on_event(retarget(START, Context="survey", Exten="s", ChannelState="6"))
    await settle(line.runner)
    assert line.recorder.context[CALL]["survey.csat"] == "5"
    assert line.agi.played()[-3:] == ["zh/survey-intro", "zh/survey-question", "zh/survey-thanks"]
    assert line.agi.commands[-2:] == ['STREAM FILE zh/survey-thanks ""', "HANGUP"]
    ends = [e["reason"] for e in line.recorder.path[CALL] if e["kind"] == "end"]
    assert ends == ["new_agi", "hangup"]


async def test_given_the_real_survey_start_frame_then_csat_is_stored_with_the_call() -> None:
    line = Line()
    survey = captured("post_call_survey", "AsyncAGIStart", 1)
    assert survey.get("Context") == "survey"
    line.agi.keys = [key("5")]
    line.runner.on_event(survey)
    await settle(line.runner)
    assert line.agi.commands[0] == "SET VARIABLE CC_IVR active"  # already answered: no ANSWER
    assert line.recorder.context[survey.linkedid]["survey.csat"] == "5"


async def test_given_survey_for_unanswered_call_then_no_survey() -> None:
    line = Line()
    line.runner = IvrRunner(line.agi, line.registry, line.recorder, line.router, line.orders, line.callbacks,
                            clock=lambda: MONDAY_10, answered=lambda call: False)
    line.runner.on_event(retarget(START, Context="survey", Exten="s", ChannelState="6"))
    await settle(line.runner)
    assert line.agi.commands == ["ASYNCAGI BREAK"]


async def test_given_survey_prompts_failing_then_survey_ends_and_call_is_never_queued_again() -> None:
    line = Line()
    line.agi.script = [("STREAM FILE en/survey-intro", INVALID), ("STREAM FILE goodbye", INVALID)]
    line.runner.on_event(retarget(START, Context="survey", Exten="s", ChannelState="6"))
    await settle(line.runner)
    assert line.router.queued == []
    assert line.agi.commands[-1] == "ASYNCAGI BREAK"


async def test_given_other_contexts_then_runner_ignores_them() -> None:
    line = Line()
    line.runner.on_event(retarget(START, Context="sim-agent"))
    line.runner.on_event(event("Newexten", CHANNEL, CALL))
    await settle(line.runner)
    assert line.agi.commands == [] and line.runner.statistics()["started"] == 0


async def test_given_the_inbound_contexts_from_the_settings_then_only_those_run_the_inbound_flow() -> None:
    line = Line(inbound_contexts=frozenset({"vip-inbound"}))
    line.runner.on_event(START)  # context "inbound": not an IVR context here
    await settle(line.runner)
    assert line.runner.statistics()["started"] == 0
    line.runner.on_event(retarget(START, Context="vip-inbound"))
    await line.held()
    assert line.runner.statistics()["started"] == 1 and line.agi.commands[0] == "ANSWER"


# --- voicemail ---------------------------------------------------------------------------------

async def test_given_caller_hangs_up_to_end_the_message_then_it_is_kept_with_a_ticket() -> None:
    line = Line(now=datetime(2026, 11, 29, 22, 0, tzinfo=SHANGHAI))
    line.agi.keys = [key("1"), key("2")]  # English, leave a message
    line.agi.script = [("RECORD FILE", "200%20result%3D-1%20(hangup)%20endpos%3D48000%0A")]
    line.runner.on_event(START)
    await settle(line.runner)
    (request,) = line.callbacks.requests
    assert request.voicemail is not None and request.voicemail.endswith("-voicemail-1.wav")
    assert request.voicemail.startswith("/var/spool/asterisk/ivr-messages/1795314487.14-")
    assert "BEEP s=5" in next(c for c in line.agi.commands if c.startswith("RECORD FILE"))


# --- sensitive digits ----------------------------------------------------------------------------

SECRET_FLOW = {
    "id": "aftersales", "version": 1, "default_language": "en", "languages": ["en"], "entry": "pin",
    "nodes": {
        "pin": {"type": "collect", "prompts": ["hello-world"], "store": "card.pin", "timeout": 5,
                "min_length": 4, "max_length": 6, "sensitive": True, "next": "bye"},
        "bye": {"type": "hangup"}}}


async def test_given_sensitive_collect_then_digits_masked_in_path_context_and_logs(tmp_path: Path) -> None:
    (tmp_path / "aftersales.yaml").write_text(yaml.safe_dump(SECRET_FLOW))
    line = Line(tmp_path)
    pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    line.agi.keys = [pending]
    with structlog.testing.capture_logs() as logs:
        line.runner.on_event(START)
        await asyncio.wait_for(line.agi.waiting.wait(), 5)
        assert line.runner.sensitive_input_active(CHANNEL)  # the event log must mask DTMF now
        pending.set_result(key("924613"))
        await settle(line.runner)
    assert not line.runner.sensitive_input_active(CHANNEL)
    everything = repr(line.recorder.path) + repr(line.recorder.context) + repr(logs)
    assert "924613" not in everything
    assert line.recorder.context[CALL]["card.pin"] == "******"


# --- reload ------------------------------------------------------------------------------------

def small_flow(version: int, then: str) -> dict[str, object]:
    return {"id": "aftersales", "version": version, "default_language": "en", "languages": ["en"],
            "entry": "main", "nodes": {
                "main": {"type": "menu", "prompts": ["main-menu"], "choices": {1: "then"}},
                "then": {"type": "hangup", "prompts": [then]}}}


async def test_given_flow_reloaded_during_a_call_then_running_call_keeps_its_version(tmp_path: Path) -> None:
    path = tmp_path / "aftersales.yaml"
    path.write_text(yaml.safe_dump(small_flow(1, "hello-world")))
    line = Line(tmp_path)
    pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    line.agi.keys = [pending]
    line.runner.on_event(START)
    await asyncio.wait_for(line.agi.waiting.wait(), 5)

    path.write_text(yaml.safe_dump(small_flow(2, "goodbye")))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert line.registry.reload().loaded == ["aftersales@2"]
    pending.set_result(key("1"))
    await settle(line.runner)
    assert line.agi.played()[-1] == "hello-world"
    assert line.recorder.path[CALL][0]["version"] == 1

    second = retarget(START, Linkedid="1795314487.99", Channel="Local/4001@inbound-00000009;2")
    line.agi.keys = [key("1")]
    line.runner.on_event(second)
    await settle(line.runner)
    assert line.agi.played()[-1] == "goodbye"
    assert line.recorder.path["1795314487.99"][0]["version"] == 2


async def test_given_broken_edit_then_refused_and_previous_version_keeps_serving(tmp_path: Path) -> None:
    path = tmp_path / "aftersales.yaml"
    path.write_text(yaml.safe_dump(small_flow(1, "hello-world")))
    line = Line(tmp_path)
    path.write_text("id: aftersales\nversion: 2\nnodes: {main: {type: menu}}\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    report = line.registry.reload()
    assert list(report.refused) == [str(path)] and report.loaded == []
    assert line.registry.get("aftersales").version == 1


async def test_given_inbound_flow_missing_then_every_call_is_routed_to_general() -> None:
    line = Line(inbound_flow="nonexistent")
    line.runner.on_event(START)
    await line.held()
    assert line.router.queued[0][2].skill == "general"


@pytest.mark.parametrize("extension", ["4001"])
async def test_flows_can_be_chosen_by_dialled_number(tmp_path: Path, extension: str) -> None:
    (tmp_path / "hotline.yaml").write_text(yaml.safe_dump({**small_flow(1, "goodbye"), "id": "hotline"}))
    line = Line(tmp_path, flows_by_extension={extension: "hotline"})
    line.agi.keys = [key("1")]
    line.runner.on_event(START)
    await settle(line.runner)
    assert line.recorder.path[CALL][0]["flow"] == "hotline"


async def test_given_route_then_routed_state_is_sent_before_the_router_may_offer_the_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On the real PBX an offer answered at once bridges the caller out of AsyncAGI; an AGI
    command queued after that never runs. So CC_IVR=routed must be on the channel before the
    router has the call, or the caller returns from the agent into [ivr-fallback]."""
    line = Line()
    seen_when_enqueued: list[list[str]] = []
    enqueue = line.router.enqueue

    async def recording_enqueue(call_id: str, channel: str, requirements: RouteRequirements,
                                context: Mapping[str, Scalar]) -> None:
        seen_when_enqueued.append(list(line.agi.commands))
        await enqueue(call_id, channel, requirements, context)

    monkeypatch.setattr(line.router, "enqueue", recording_enqueue)
    line.agi.keys = [key("1"), key("0")]
    line.runner.on_event(START)
    await line.held()
    (commands,) = seen_when_enqueued
    assert "SET VARIABLE CC_IVR routed" in commands


async def test_given_router_refuses_the_call_then_state_goes_back_to_active() -> None:
    line = Line()
    line.router.failure = RuntimeError("router down")
    line.agi.keys = [key("1"), key("0")]
    line.runner.on_event(START)
    await settle(line.runner)
    commands = line.agi.commands
    routed = commands.index("SET VARIABLE CC_IVR routed")
    assert "SET VARIABLE CC_IVR active" in commands[routed + 1:]


async def test_given_route_then_the_router_gets_the_call_only_once_the_hold_music_has_started() -> None:
    """On the real PBX an offer answered at once bridges the caller out of AsyncAGI; a
    MusicOnHold still queued then runs when the caller next enters AGI (the post-call survey)
    and plays music instead of the survey. So the call goes to the router only after Asterisk
    reports the hold running (AGIExecStart)."""
    line = Line()
    started: list[AmiEvent] = []
    line.agi.exec_started = started.append  # Asterisk has not picked the command up yet
    line.agi.keys = [key("1"), key("0")]
    line.runner.on_event(START)
    await asyncio.wait_for(line.agi.waiting.wait(), 5)
    await asyncio.sleep(0.05)
    assert line.agi.commands[-1].startswith("EXEC MusicOnHold")
    assert line.router.queued == []
    (hold_started,) = started
    line.runner.on_event(hold_started)
    await asyncio.wait_for(line.router.entered.wait(), 5)
    assert [call_id for call_id, *_ in line.router.queued] == [CALL]


async def test_given_routing_facts_at_hand_then_the_call_is_queued_in_the_turn_that_reads_the_hold_start() -> None:
    """The router may offer the call as the runner reads the hold's AGIExecStart, without a
    task in between; queued once, and the IVR path records it once."""
    line = Line()
    line.router.at_once = True
    started: list[AmiEvent] = []
    line.agi.exec_started = started.append
    line.agi.keys = [key("1"), key("0")]
    line.runner.on_event(START)
    await asyncio.wait_for(line.agi.waiting.wait(), 5)
    assert line.router.queued == []
    (hold_started,) = started
    line.runner.on_event(hold_started)
    assert line.router.queued_at_once == [CALL]  # before the loop ran anything else
    for _ in range(50):
        await asyncio.sleep(0)
    assert [call_id for call_id, *_ in line.router.queued] == [CALL]
    assert line.path().count("queued") == 1
    line.runner.on_event(hold_started)  # a later stretch's start queues nothing more
    await asyncio.sleep(0)
    assert len(line.router.queued) == 1


async def test_given_queuing_at_the_hold_start_raises_then_state_goes_back_to_active() -> None:
    line = Line()
    line.router.at_once = True
    line.router.failure = RuntimeError("router down")
    line.agi.keys = [key("1"), key("0")]
    line.runner.on_event(START)
    await settle(line.runner)
    commands = line.agi.commands
    routed = commands.index("SET VARIABLE CC_IVR routed")
    assert "SET VARIABLE CC_IVR active" in commands[routed + 1:]
    assert line.router.queued == []
