"""Unit tests of the simulator's pure parts: no sockets, a manual clock where time matters."""

from __future__ import annotations

import asyncio
import random
import struct
import time
from array import array
from pathlib import Path

import pytest

from callcenter.simulator import agi_commands as cmds
from callcenter.simulator.actions import parse_callerid
from callcenter.simulator.arrivals import arrival_times
from callcenter.simulator.audio import AudioLog, render
from callcenter.simulator.clock import ManualClock, ScaledClock
from callcenter.simulator.config import ConfigError, SimulatorConfig, config_from_mapping, load_config
from callcenter.simulator.frames import channel_event
from callcenter.simulator.frames import render as render_frame
from callcenter.simulator.model import Channel
from callcenter.simulator.party import compile_timeline
from callcenter.simulator.recorder import parse_options, resolve
from callcenter.simulator.scenario import (
    Arrival,
    Behaviour,
    Press,
    ScenarioError,
    Speech,
    load_scenario,
    parse_scenario,
)
from callcenter.simulator.sounds import duration_of, find_prompt, load_pcm
from tests.simulator.lab import write_tone

EXAMPLE = Path(__file__).parents[2] / "callcenter" / "simulator" / "scenarios" / "example.yaml"


# --- clock ----------------------------------------------------------------------------------

def test_manual_clock_runs_timers_in_order_each_at_its_due_time() -> None:
    clock = ManualClock()
    seen: list[tuple[str, float]] = []
    clock.call_later(2.0, lambda: seen.append(("b", clock.now())))
    clock.call_later(1.0, lambda: seen.append(("a", clock.now())))
    cancelled = clock.call_later(1.5, lambda: seen.append(("x", clock.now())))
    cancelled.cancel()
    clock.advance(5)
    assert seen == [("a", 1.0), ("b", 2.0)] and clock.now() == 5


async def test_scaled_clock_timer_sees_its_due_time_even_when_the_loop_is_late() -> None:
    clock = ScaledClock(time_scale=100.0, start_epoch=1_000.0)
    clock.start()
    seen: list[float] = []
    done = asyncio.Event()
    timer = clock.call_later(1.0, lambda: (seen.append(clock.now()), done.set()))
    asyncio.get_running_loop().call_soon(time.sleep, 0.03)  # the loop will be late for it
    await asyncio.wait_for(done.wait(), 2)
    assert seen == [timer.due]
    assert clock.now() > timer.due


async def test_scaled_clock_runs_ten_simulated_seconds_per_real_second_at_scale_10() -> None:
    clock = ScaledClock(time_scale=10.0)
    clock.start()
    loop = asyncio.get_running_loop()
    begin = loop.time()
    done = asyncio.Event()
    clock.call_later(2.0, done.set)
    await asyncio.wait_for(done.wait(), 2)
    assert 0.15 <= loop.time() - begin < 1.0


def test_scaled_clock_refuses_a_zero_scale() -> None:
    with pytest.raises(ValueError, match=r"time_scale"):
        ScaledClock(0)


# --- AGI command text -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "args"), [
    ('STREAM FILE hello-world ""', ["STREAM", "FILE", "hello-world", ""]),
    ("GET DATA vm-enter-num-to-call 6000 1", ["GET", "DATA", "vm-enter-num-to-call", "6000", "1"]),
    ('EXEC Playback "a b"', ["EXEC", "Playback", "a b"]),
    (r"VERBOSE a\ b", ["VERBOSE", "a b"]),
    ("  ANSWER  ", ["ANSWER"]),
])
def test_agi_arguments_split_like_asterisk(text: str, args: list[str]) -> None:
    assert cmds.split_args(text) == args


def test_agi_command_names_match_case_insensitively_longest_first() -> None:
    assert cmds.match(["wait", "for", "digit", "500"]) == ("WAIT FOR DIGIT", ["500"])
    assert cmds.match(["FOO"]) == ("", ["FOO"])


def test_agi_results_are_url_encoded_like_asterisk() -> None:
    assert cmds.encode("200 result=0 endpos=11234\n") == "200%20result%3D0%20endpos%3D11234%0A"
    assert cmds.failed("200 result=-1 endpos=0\n").ends == "FAILURE"


# --- sounds and audio -----------------------------------------------------------------------

def test_prompt_lookup_prefers_the_language_folder_and_reads_the_length(tmp_path: Path) -> None:
    write_tone(tmp_path / "en" / "hello-world.wav", 11234)
    write_tone(tmp_path / "hello-world.wav", 100)
    sound = find_prompt("hello-world", "en", [tmp_path])
    assert sound is not None and sound.samples_8k == 11234
    assert find_prompt("welcome", "en", [tmp_path]) is None
    assert find_prompt("../etc/passwd", "en", [tmp_path]) is None


def test_raw_formats_length_comes_from_the_file_size(tmp_path: Path) -> None:
    (tmp_path / "a.gsm").write_bytes(bytes(33 * 50))  # 50 frames of 160 samples
    (tmp_path / "b.sln").write_bytes(bytes(16000))
    (tmp_path / "c.ulaw").write_bytes(bytes(8000))
    assert duration_of(tmp_path / "a.gsm") == pytest.approx(1.0)
    assert duration_of(tmp_path / "b.sln") == pytest.approx(1.0)
    assert duration_of(tmp_path / "c.ulaw") == pytest.approx(1.0)


def test_a_16khz_stereo_wav_is_converted_to_8khz_mono(tmp_path: Path) -> None:
    import wave

    path = tmp_path / "wide.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(struct.pack("<hh", 1000, 3000) * 16000)
    samples = load_pcm(path)
    assert len(samples) == 8000 and samples[10] == 2000


def test_recording_track_has_the_span_length_and_muted_spans_are_silent() -> None:
    log = AudioLog()
    segment = log.speech("C", 1.0, array("h", [100] * 16000))  # 2 s of speech from t=1
    track = render(0.0, 4.0, [(segment, 1.0, 3.0)], muted=[(2.0, 2.5)])
    assert len(track) == 32000
    assert track[7999] == 0 and track[8000] == 100 and track[16000] == 0 and track[20000] == 100
    assert track[24000] == 0


def test_audio_from_a_bridge_peer_counts_only_while_both_are_in_the_bridge() -> None:
    log = AudioLog()
    log.enter("caller", "b1", 1.0)
    log.enter("agent", "b1", 1.0)
    spoken = log.speech("agent", 0.0, array("h", [7] * 8000 * 10))
    log.leave("agent", 5.0)
    read, written = log.heard_by("caller", 0.0, 8.0)
    assert read == [] and [(s, a, b) for s, a, b in written] == [(spoken, 1.0, 5.0)]


def test_mixmonitor_options_and_paths() -> None:
    assert parse_options("r(/a/c.wav)t(/a/g.wav)b") == {"r": "/a/c.wav", "t": "/a/g.wav"}
    base = Path("/tmp/rec")
    assert resolve("/var/spool/asterisk/monitor/x/1.wav", base) == base / "x" / "1.wav"
    assert resolve("2.wav", base) == base / "2.wav"
    assert resolve("/elsewhere/3.wav", base) == Path("/elsewhere/3.wav")


# --- scenarios ------------------------------------------------------------------------------

def test_the_shipped_example_scenario_loads_with_audio_relative_to_it() -> None:
    scenario = load_scenario(EXAMPLE)
    assert scenario.callers[0].behaviour.says[0].audio.is_file()
    assert {a.dial_string for a in scenario.agents} >= {"PJSIP/1001", "Local/2001@sim-agent/n"}


@pytest.mark.parametrize(("raw", "field"), [
    ({"callers": [{"name": "x"}]}, "callers[0].number: missing"),
    ({"callers": [{"number": "12a"}]}, "callers[0].number"),
    ({"callers": [{"number": "1", "presses": [{"after_s": -1, "digits": "1"}]}]},
     "callers[0].presses[0].after_s"),
    ({"callers": [{"number": "1", "presses": [{"after_s": 1, "digits": "x"}]}]},
     "callers[0].presses[0].digits"),
    ({"callers": [{"number": "1", "says": [{"after_s": 1, "audio": "nope.wav"}]}]},
     "callers[0].says[0].audio"),
    ({"callers": [{"number": "1", "arrival": {"rate_per_min": 0, "duration_s": 1}}]},
     "callers[0].arrival.rate_per_min"),
    ({"callers": [{"number": "1", "color": "red"}]}, "callers[0].color: unknown field"),
    ({"agents": [{"extension": "1001", "busy": True, "never_answers": True}]}, "agents[0].busy"),
    ({"agents": [{"extension": "1001", "dial": "SIP/1001"}]}, "agents[0].dial"),
    ({"agents": [{"extension": "1"}, {"extension": "1"}]}, "agents[1].dial"),
    ({"agents": [{"extension": "1", "registration": [{"at_s": "soon"}]}]},
     "agents[0].registration[0].at_s"),
    ([1, 2], "scenario: must be a mapping"),
])
def test_given_bad_scenario_when_loaded_then_error_names_the_field(raw: object, field: str,
                                                                    tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_scenario(raw, tmp_path)


def test_bad_yaml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("callers: [", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.yaml"):
        load_scenario(path)


def test_lab_caller_script_compiles_to_the_lab_handset_steps(tmp_path: Path) -> None:
    refund = write_tone(tmp_path / "r.wav", 76004)
    behaviour = Behaviour(presses=(Press(2.0, "2"),), says=(Speech(10.45, refund),),
                          hangup_after_s=49.9505)
    steps = compile_timeline(behaviour, True, lambda p: 9.5005)
    assert [(s.kind, s.duration) for s in steps] == [
        ("wait", 2.0), ("dtmf", 0.45), ("wait", 8.0), ("play", 9.5005), ("wait", 30.0),
        ("hangup", 0.0)]


def test_poisson_arrivals_are_reproducible_and_inside_the_duration() -> None:
    arrival = Arrival(at_s=(), rate_per_min=6, duration_s=600, seed=3)
    first = arrival_times(arrival, random.Random(1))
    assert first == arrival_times(arrival, random.Random(2))
    assert 30 <= len(first) <= 95 and all(0 <= t <= 600 for t in first)
    assert arrival_times(Arrival(at_s=(5.0, 1.0)), random.Random()) == [1.0, 5.0]


# --- config, caller ID, frames --------------------------------------------------------------

def test_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"simulator\.time_scale"):
        SimulatorConfig(time_scale=0)
    with pytest.raises(ConfigError, match=r"simulator\.colour: unknown"):
        config_from_mapping({"colour": "red"})
    with pytest.raises(ConfigError, match=r"simulator\.port"):
        config_from_mapping({"port": "5038"})
    path = tmp_path / "sim.toml"
    path.write_text('[simulator]\nport = 0\nsecret = "s"\nsound_dirs = ["snd"]\n', encoding="utf-8")
    config = load_config(path)
    assert config.port == 0 and config.sound_dirs == (tmp_path / "snd",)


@pytest.mark.parametrize(("text", "expected"), [
    ('"Alice Chen" <13800000001>', ("13800000001", "Alice Chen")),
    ("Queue: refunds <13800000001>", ("13800000001", "Queue: refunds")),
    ("<123>", ("123", "")),
    ("13800000001", ("13800000001", "")),
    ('"陈丽华（VIP）" <13900000002>', ("13900000002", "陈丽华（VIP）")),
    ("", ("", "")),
])
def test_originate_caller_id_parses_like_asterisk(text: str, expected: tuple[str, str]) -> None:
    assert parse_callerid(text) == expected


def test_channel_event_header_order_is_the_captures() -> None:
    ch = Channel("PJSIP/pstn-00000000", "1.0", "1.0", "PJSIP", 0.0, "PJSIP/pstn", state=6,
                 cid_num="1", cid_name="A", context="inbound", exten="4001", priority=2)
    text = render_frame(channel_event("Hangup", ch, ("Cause", "16"), ("Cause-txt", "Normal Clearing")))
    keys = [line.split(":", 1)[0] for line in text.decode().split("\r\n") if line]
    assert keys == ["Event", "Privilege", "Channel", "ChannelState", "ChannelStateDesc",
                    "CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
                    "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid",
                    "Linkedid", "Cause", "Cause-txt"]
    assert b"ConnectedLineNum: <unknown>" in text and text.endswith(b"\r\n\r\n")


def test_bridge_options_warn_like_asterisk_on_a_comma_between_options() -> None:
    from callcenter.simulator.bridging import option_warnings

    assert option_warnings("p") == []
    assert option_warnings("pF(survey^s^1)") == []
    assert option_warnings("pF") == []
    assert option_warnings("p,F(survey^s^1)") == ["Unrecognized option: ','"]
    assert option_warnings("pZ") == ["Unrecognized option: 'Z'"]
