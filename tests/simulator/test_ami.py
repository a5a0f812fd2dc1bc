"""The simulator through the product's own AMI client (and raw TCP for bad input)."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from callcenter.ami import messages
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AgiChannelGone, AmiActionFailed, AmiLoginFailed
from callcenter.calls.model import Outcome
from callcenter.settings import AmiSettings, Secret
from callcenter.simulator import (
    AgentScript,
    Behaviour,
    CallerScript,
    PbxSimulator,
    Press,
    Scenario,
    SimulatorConfig,
    Speech,
    Survey,
)
from tests.simulator.lab import make_sounds, wav_seconds, write_tone
from tests.simulator.support import CallControl, running


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sounds(tmp_path_factory.mktemp("sounds"))


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("voices")
    return {"caller": write_tone(root / "caller.wav", 12000, 5000),   # 1.5 s
            "agent": write_tone(root / "agent.wav", 8000, -7000)}     # 1.0 s, other polarity


def scenario(voices: dict[str, Path], agent_hangup_s: float = 6.0, **caller: object) -> Scenario:
    behaviour = Behaviour(presses=(Press(1.6, "2"),), says=(Speech(4.0, voices["caller"]),),
                          **caller)
    return Scenario(
        callers=(CallerScript("13800000001", "Alice Chen", behaviour=behaviour),),
        agents=(AgentScript("1001", behaviour=Behaviour(says=(Speech(0.5, voices["agent"]),),
                                                        hangup_after_s=agent_hangup_s)),
                AgentScript("1002", behaviour=Behaviour(busy=True)),
                AgentScript("1003", registered=False),
                AgentScript("1004", behaviour=Behaviour(never_answers=True))))


# --- connection, login, bad input -----------------------------------------------------------

async def _raw(port: int, payload: bytes, until: bytes, timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    data = b""
    try:
        while until not in data:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            data += chunk
    finally:
        writer.close()
    return data


async def test_given_wrong_secret_when_login_then_authentication_failed_and_closed(
        tmp_path: Path) -> None:
    sim = PbxSimulator(SimulatorConfig(port=0, secret="right", recording_dir=tmp_path))
    port = await sim.start()
    try:
        data = await _raw(port, b"Action: Login\r\nActionID: 1\r\nUsername: callcenter\r\n"
                                b"Secret: wrong\r\n\r\n", b"\0")
        assert data.startswith(b"Asterisk Call Manager/11.0.0\r\n")
        assert b"Response: Error\r\nActionID: 1\r\nMessage: Authentication failed\r\n\r\n" in data
        client = AmiClient(AmiSettings(port=port, secret=Secret("wrong"), reconnect_min_s=0.05,
                                       reconnect_max_s=0.1))
        with pytest.raises(AmiLoginFailed):
            await asyncio.wait_for(client.run(), 5)
    finally:
        await sim.stop()


async def test_given_garbage_and_bad_actions_then_errors_and_the_server_keeps_serving(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    async with running(tmp_path, sounds, scenario(voices), 50) as lab:
        before = await _raw(lab.sim.port, b"Action: Originate\r\nActionID: p\r\n\r\n", b"p\r\nM")
        assert b"Message: Permission denied" in before
        bad = [
            (b"Foo: bar\r\nActionID: x1\r\n", b"Missing action in request"),
            (b"Action: Nope\r\nActionID: x2\r\n", b"Invalid/unknown command: Nope"),
            (b"Action: Originate\r\nActionID: x3\r\nChannel: PJSIP/1001\r\nExten: 1\r\n",
             b"Async: true"),
            (b"Action: Originate\r\nActionID: x4\r\nAsync: true\r\n", b"Channel not specified"),
            (b"Action: Originate\r\nActionID: x5\r\nChannel: abc\r\nAsync: yes\r\nExten: 1\r\n",
             b"Invalid channel"),
            (b"Action: Originate\r\nActionID: x6\r\nChannel: PJSIP/1\r\nAsync: 1\r\nExten: 1\r\n"
             b"Priority: one\r\n", b"Invalid priority"),
            (b"Action: AGI\r\nActionID: x7\r\nChannel: PJSIP/x-1\r\n",
             b"Both, Channel and Command are *required*"),
            (b"Action: AGI\r\nActionID: x8\r\nChannel: PJSIP/x-1\r\nCommand: ANSWER\r\n",
             b"Channel PJSIP/x-1 does not exist."),
            (b"Action: Hangup\r\nActionID: x9\r\nChannel: PJSIP/x-1\r\n", b"No such channel"),
            (b"Action: MixMonitorMute\r\nActionID: y1\r\nChannel: PJSIP/x-1\r\nDirection: up\r\n"
             b"State: 1\r\n", b"Invalid direction"),
            (b"Action: Redirect\r\nActionID: y2\r\nChannel: PJSIP/x-1\r\nContext: survey\r\n",
             b"Exten not specified"),
            (b"Action: Bridge\r\nActionID: y3\r\nChannel1: a\r\n", b"Missing channel parameter"),
            (b"Action: Status\r\nActionID: y4\r\nChannel: PJSIP/x-1\r\n", b"No such channel"),
            (b"Action: Ping\r\nActionID: y5\r\n\xff\xfe: \xc3\r\n", b"Ping: Pong"),
        ]
        login = b"Action: Login\r\nUsername: callcenter\r\nSecret: lab-secret\r\n\r\n"
        payload = login + b"".join(frame + b"\r\n" for frame, _ in bad)
        payload += b"Action: Ping\r\nActionID: big\r\nX: " + b"a" * 1_100_000 + b"\r\n\r\n"
        payload += b"Action: Ping\r\nActionID: last\r\n\r\n"
        data = await _raw(lab.sim.port, payload, b"ActionID: last\r\nPing: Pong")
        for _, expected in bad:
            assert expected in data, expected
        assert b"Request too large" in data
        response = await lab.client.send(messages.ping())
        assert response.get("Ping") == "Pong" and float(response.get("Timestamp")) > 1e9


# --- calls ----------------------------------------------------------------------------------

def _find(haystack: bytes, needle: bytes) -> int:
    return haystack.find(needle)


def _frames(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        return w.readframes(w.getnframes())


@pytest.mark.parametrize("time_scale", [1.0, 20.0])
async def test_given_time_scale_when_call_recorded_then_wav_lengths_match_simulated_time(
        time_scale: float, tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    short = time_scale == 1.0
    caller = Behaviour(presses=(Press(1.6, "2"),), says=(Speech(2.5 if short else 4.0,
                                                                voices["caller"]),))
    agent = Behaviour(says=(Speech(0.2 if short else 0.5, voices["agent"]),),
                      hangup_after_s=3.0 if short else 8.0)
    scn = Scenario((CallerScript("13800000001", "Alice", behaviour=caller),),
                   (AgentScript("1001", behaviour=agent),))
    async with running(tmp_path, sounds, scn, time_scale) as lab:
        control = CallControl(lab)
        control.start()
        lab.sim.place_call(scn.callers[0])
        await lab.idle(30)
        [rec] = lab.sim.recordings()
        assert rec.stopped_at is not None
        span = rec.stopped_at - rec.started_at
        expected = agent.hangup_after_s
        assert expected is not None
        for path in (rec.file, rec.read_file, rec.write_file):
            assert path is not None and path.is_file()
            assert wav_seconds(path) == pytest.approx(span, abs=1 / 8000)
            # the simulated clock runs time_scale times faster than the event loop's: a few ms of
            # scheduling delay on a busy machine is time_scale times that in simulated seconds
            assert wav_seconds(path) == pytest.approx(expected, abs=0.02 * expected + 0.01 * time_scale)
        assert rec.read_file is not None and rec.write_file is not None
        caller_mark, agent_mark = _frames(voices["caller"])[800:1600], _frames(voices["agent"])[800:1600]
        customer, heard = _frames(rec.read_file), _frames(rec.write_file)
        assert _find(customer, caller_mark) >= 0 and _find(customer, agent_mark) < 0
        assert _find(heard, agent_mark) >= 0 and _find(heard, caller_mark) < 0
        # The agent speaks 0.2/0.5 s after answering, i.e. that far into the recording.
        offset = _find(heard, _frames(voices["agent"])[:400]) / 2 / 8000
        assert offset == pytest.approx(agent.says[0].after_s, abs=0.02 + 0.01 * time_scale)
        [call] = [c for c in lab.tracker.calls.values() if c.caller_uniqueid]
        assert call.outcome is Outcome.ANSWERED and call.digits == "2"
        assert call.hangup_by == "agent" and len(call.recordings) == 3


async def test_given_production_caller_then_pjsip_trunk_channel_and_linkedid_follow_the_caller(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    async with running(tmp_path, sounds, scenario(voices), 40) as lab:
        CallControl(lab).start()
        name = lab.sim.place_call(lab.sim.scenario.callers[0])
        assert name.startswith("PJSIP/pstn-") and len(name) == len("PJSIP/pstn-00000000")
        enter = await lab.events.wait(lambda e: e.name == "BridgeEnter"
                                      and e.channel.startswith("PJSIP/1001-"))
        assert enter.linkedid == lab.events.named("Newchannel", Channel=name)[0].uniqueid
        assert {b.channels for b in lab.sim.bridges()} == {(name, enter.channel)}
        await lab.idle()
        first = lab.events.named("Newchannel", Channel=name)[0]
        assert first.get("ChannelStateDesc") == "Ring" and first.get("CallerIDName") == "Alice Chen"
        [call] = [c for c in lab.tracker.calls.values() if c.caller_uniqueid]
        assert call.outcome is Outcome.ANSWERED and call.agent is not None


async def test_given_busy_unregistered_and_silent_phones_then_reasons_and_causes_tell_them_apart(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    async with running(tmp_path, sounds, scenario(voices), 20) as lab:
        CallControl(lab, agent_dial="PJSIP/1004").start()
        caller = lab.sim.place_call(lab.sim.scenario.callers[0])
        await lab.events.wait(lambda e: e.name == "MusicOnHoldStart")
        for dial in ("PJSIP/1002", "PJSIP/1003"):
            await lab.client.send(messages.Originate(dial, application="Bridge",
                                                     data=f"{caller},p", timeout_ms=8000))
        responses = [await lab.events.wait(lambda e, d=d: e.name == "OriginateResponse" and
                                           e.get("Channel") == d)
                     for d in ("PJSIP/1002", "PJSIP/1003", "PJSIP/1004")]
        assert [(r.get("Response"), r.get("Reason")) for r in responses] == [
            ("Failure", "0"), ("Failure", "0"), ("Failure", "3")]
        hangups = {e.channel.split("-")[0]: e.get("Cause") for e in lab.events.named("Hangup")}
        assert hangups == {"PJSIP/1002": "17", "PJSIP/1004": "19"}  # 1003: no channel at all
        assert lab.events.named("DialEnd")[-1].get("DialStatus") == "BUSY"
        assert lab.events.named("DialState")[0].get("DialStatus") == "RINGING"
        await lab.client.send(messages.hangup(caller, cause=21))
        gone = await lab.events.wait(lambda e: e.name == "Hangup" and e.channel == caller)
        assert (gone.get("Cause"), gone.get("Cause-txt")) == ("21", "Call Rejected")
        [call] = [c for c in lab.tracker.calls.values() if c.caller_uniqueid]
        assert sorted(o.result for o in call.offers) == ["busy", "no_answer", "unavailable"]


async def test_given_impatient_caller_on_hold_then_abandons_and_agi_ends_with_hangup(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    async with running(tmp_path, sounds, scenario(voices, patience_s=3.0), 40) as lab:
        control = CallControl(lab, agent_dial="PJSIP/1003")  # never reachable
        control.start()
        name = lab.sim.place_call(lab.sim.scenario.callers[0])
        await lab.idle()
        names = [e.name for e in lab.events.items if e.channel == name]
        tail = names[names.index("MusicOnHoldStart"):]
        assert tail == ["MusicOnHoldStart", "HangupRequest", "MusicOnHoldStop", "AGIExecEnd",
                        "AsyncAGIExec", "AsyncAGIEnd", "VarSet", "SoftHangupRequest", "Hangup"]
        [call] = [c for c in lab.tracker.calls.values() if c.caller_uniqueid]
        assert call.outcome is Outcome.ABANDONED and call.hangup_by == "caller"


async def test_given_survey_option_when_agent_hangs_up_then_caller_answers_survey(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    async with running(tmp_path, sounds, scenario(voices, agent_hangup_s=2.0,
                                                  survey=Survey("5", 0.5)), 40) as lab:
        control = CallControl(lab, survey=True)
        control.start()
        name = lab.sim.place_call(lab.sim.scenario.callers[0])
        await lab.idle()
        starts = lab.events.named("AsyncAGIStart", Channel=name)
        assert [s.get("Context") for s in starts] == ["inbound", "survey"]
        assert [r.result for r in control.results][-2:] == [5, 1]  # GET DATA → 5, HANGUP → 1
        soft = lab.events.named("SoftHangupRequest", Channel=name)
        assert [s.get("Cause") for s in soft] == ["32", "16"]
        [call] = [c for c in lab.tracker.calls.values() if c.caller_uniqueid]
        assert call.outcome is Outcome.ANSWERED


async def test_agi_commands_report_like_asterisk(tmp_path: Path, sounds: Path,
                                                 voices: dict[str, Path]) -> None:
    caller = CallerScript("13800000001", behaviour=Behaviour(
        presses=(Press(0.5, "7"), Press(2.5, "9"), Press(3.5, "1"))))
    async with running(tmp_path, sounds, Scenario((caller,)), 20) as lab:
        name = lab.sim.place_call(caller)
        await lab.events.wait(lambda e: e.name == "AsyncAGIStart")
        agi = lab.client.agi
        assert (await agi(name, "ANSWER", 10)).result == 0
        escaped = await agi(name, 'STREAM FILE hello-world "79"', 10)
        assert escaped.result == ord("7") and 0 < (escaped.endpos or 0) < 11234
        assert (await agi(name, "WAIT FOR DIGIT 5000", 10)).digit == "9"
        assert (await agi(name, "SAY DIGITS 12 #", 10)).result == 0
        assert (await agi(name, "EXEC Playback hello-world", 10)).result == 0
        assert (await agi(name, "EXEC Dial PJSIP/1", 10)).result == -2
        assert (await agi(name, "NOT A COMMAND", 10)).code == 510
        assert (await agi(name, "GET DATA vm-press 300 3", 10)).timed_out
        assert (await agi(name, "ASYNCAGI BREAK", 10)).result == 0
        await lab.events.wait(lambda e: e.name == "AsyncAGIEnd")
        with pytest.raises(AgiChannelGone):
            await agi(name, "ANSWER", 10)
        status = lab.events.named("VarSet", Variable="AGISTATUS")
        assert [s.get("Value") for s in status] == ["SUCCESS"]
        assert lab.events.named("Hangup", Channel=name)[0].get("Cause") == "16"


async def test_missing_prompt_ends_the_agi_and_the_safety_net_hangs_up(
        tmp_path: Path, sounds: Path) -> None:
    caller = CallerScript("13800000001")
    async with running(tmp_path, sounds, Scenario((caller,)), 20) as lab:
        name = lab.sim.place_call(caller)
        await lab.events.wait(lambda e: e.name == "AsyncAGIStart")
        await lab.client.agi(name, "ANSWER", 10)
        failed = await lab.client.agi(name, 'STREAM FILE welcome ""', 10)
        assert failed.result == -1 and failed.endpos == 0
        await lab.idle()
        names = [e.name for e in lab.events.items if e.channel == name]
        assert names[-6:] == ["AsyncAGIExec", "AsyncAGIEnd", "VarSet", "Newexten",
                              "SoftHangupRequest", "Hangup"]
        assert lab.events.named("VarSet", Variable="AGISTATUS")[0].get("Value") == "FAILURE"


async def test_list_actions_mute_stop_and_redirect_during_a_call(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    async with running(tmp_path, sounds, scenario(voices, agent_hangup_s=30.0), 20) as lab:
        CallControl(lab).start()
        caller = lab.sim.place_call(lab.sim.scenario.callers[0])
        await lab.events.wait(lambda e: e.name == "MixMonitorStart")
        channels = await lab.client.send(messages.core_show_channels())
        assert channels.get("EventList") == "start" and len(channels.items) == 2
        assert all(i.get("ActionID") == channels.get("ActionID") for i in channels.items)
        status = await lab.client.send(messages.status())
        assert {i.get("Application") for i in status.items} == {"(null)", "Bridge"}
        bridges = await lab.client.send(messages.bridge_list())
        assert [i.get("BridgeNumChannels") for i in bridges.items] == ["2"]
        await lab.client.send(messages.mix_monitor_mute(caller, True))
        await lab.sim.sleep(1.0)
        await lab.client.send(messages.mix_monitor_mute(caller, False))
        await lab.client.send(messages.stop_mix_monitor(caller))
        with pytest.raises(AmiActionFailed, match="Could not stop"):
            await lab.client.send(messages.stop_mix_monitor(caller))
        assert [e.get("State") for e in lab.events.named("MixMonitorMute")] == ["1", "0"]
        assert lab.events.named("MixMonitorStop")
        [rec] = lab.sim.recordings()
        assert rec.stopped_at is not None and [m[0] for m in rec.muted] == ["read", "write"]
        mark = len(lab.events.items)
        await lab.client.send(messages.redirect(caller, "survey", "s"))
        start = await lab.events.wait(lambda e: e.name == "AsyncAGIStart", since=mark)
        assert start.get("Context") == "survey" and start.channel == caller
        await lab.client.send(messages.hangup(caller))
        await lab.idle()


async def test_bridge_action_joins_two_callers(tmp_path: Path, sounds: Path) -> None:
    callers = (CallerScript("13800000001", "A"), CallerScript("13800000002", "B"))
    async with running(tmp_path, sounds, Scenario(callers), 20) as lab:
        one, two = lab.sim.place_call(callers[0]), lab.sim.place_call(callers[1])
        await lab.client.send(messages.bridge(one, two))
        await lab.events.wait(lambda e: e.name == "BridgeEnter" and e.get("BridgeNumChannels") == "2")
        assert lab.events.named("BridgeEnter")[1].linkedid == lab.events.named("BridgeEnter")[0].linkedid
        await lab.client.send(messages.hangup(one))
        await lab.idle()  # the other goes on in its dialplan: Hangup()
        await lab.client.send(messages.Action("Setvar", (("Variable", "CC_IVR_HEARTBEAT"),
                                                         ("Value", "42"))))
        value = await lab.client.send(messages.Action("Getvar", (("Variable", "CC_IVR_HEARTBEAT"),)))
        assert value.get("Value") == "42"


async def test_lab_style_local_callers_and_registration_events(
        tmp_path: Path, sounds: Path, voices: dict[str, Path]) -> None:
    agents = (AgentScript("1002", registration=()),)
    scn = Scenario((CallerScript("13800000001", "Alice", behaviour=Behaviour(patience_s=1.0)),),
                   agents)
    async with running(tmp_path, sounds, scn, 40, caller_channel_style="local") as lab:
        name = lab.sim.place_call(scn.callers[0])
        assert name.startswith("Local/4001@inbound-") and name.endswith(";2")
        await lab.idle()
        assert lab.sim.set_registered("1002", False) and lab.sim.set_registered("1002", True)
        await lab.events.wait(lambda e: e.name == "ContactStatus" and
                              e.get("ContactStatus") == "Reachable")
        states = [e.get("State") for e in lab.events.named("DeviceStateChange", Device="PJSIP/1002")]
        assert states == ["UNAVAILABLE", "NOT_INUSE"]
        assert lab.events.named("PeerStatus")[0].get("PeerStatus") == "Unreachable"
