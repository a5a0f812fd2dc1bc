"""Supervisor monitoring on the real PBX, checked on the recorded audio: a caller talks to an
agent; the supervisor's phone (pjsua playing a 2.6 kHz tone) is rung into ChanSpy on the
agent's channel to listen, then switched on that live spy (no second ring) to whisper, then to
barge. The agent's phone records what it hears, and so does the caller's. The tone is in the
agent's recording while whispering and barging, never while listening; in the caller's recording
only while barging. The sessions are audited with their modes and ends; a second leg ends with
the call (ChanSpy ``E``)."""

from __future__ import annotations

import asyncio
import math
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.polling import wait_until
from tests.pbx.amiclient import TestAmi
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, linkedid_of, through_menus
from tests.pbx.phones import Phone
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig
from tests.pbx.server import Web

TONE_HZ = 2600.0
HOLD_S = 5.0  # each mode lasts this long
AGENTS = [Agent("olga", "1021", {"general": 5}),
          Agent("desk", "1029", {"general": 1})]  # the supervisor's desk phone; never made ready
GENERAL = [("choose-language", "1"), ("main-menu", "0")]


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-supervision"), db_url, AGENTS,
                     survey=False) as running:
        yield running


def write_tone(path: Path, seconds: float = 60.0, rate: int = 8000) -> Path:
    samples = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * math.pi * TONE_HZ * samples)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(tone.tobytes())
    return path


def tone_share(path: Path, start_s: float, end_s: float) -> float:
    """The share of the window's energy within ±40 Hz of the tone (a pure tone: near 1; speech,
    music or silence: near 0)."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        w.setpos(min(w.getnframes(), int(start_s * rate)))
        raw = w.readframes(max(0, int((end_s - start_s) * rate)))
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if samples.size < rate // 2:
        raise AssertionError(f"{path.name}: window {start_s:.1f}-{end_s:.1f} s is not in the recording")
    power = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1.0 / rate)
    band = power[(freqs > TONE_HZ - 40) & (freqs < TONE_HZ + 40)].sum()
    return float(band / max(power.sum(), 1e-9))


async def call(web: Web, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    async with web.session.request(method, web.base + path, json=body,
                                   headers={"X-CSRF-Token": web.csrf}) as response:
        return response.status, await response.json()


async def spy(web: Web, call_id: str, mode: str) -> tuple[dict[str, Any], float, float]:
    """Monitor in ``mode`` for HOLD_S; returns the session and the window it was on (wall clock)."""
    status, session = await call(web, "POST", f"/api/supervision/calls/{call_id}/monitor", {"mode": mode})
    assert status == 201, session
    started = time.time()
    await asyncio.sleep(HOLD_S)
    return session, started, time.time()


async def sessions_of(web: Web, linkedid: str) -> list[dict[str, Any]]:
    return list((await web.get(f"/api/supervision/calls/{linkedid}/sessions"))["sessions"])


async def live_sessions(web: Web) -> list[dict[str, Any]]:
    return list((await web.get("/api/supervision/sessions"))["sessions"])


async def olga_and_the_desk(rig: Rig, tmp_path: Path, agent_heard: Path) -> tuple[Phone, Phone, Web, TestAmi]:
    """olga's phone (answers, greets, records what she hears, talks 90 s) and ready; the
    supervisor's desk phone (answers, plays a tone); the supervisor signed in; an AMI link."""
    olga = rig.agent_phone("olga", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav",
                           record=agent_heard, talk_s=90)
    desk = rig.agent_phone("desk", mode="answer", play=write_tone(tmp_path / "tone.wav"))
    for agent in AGENTS:
        await rig.wait_registered(agent.extension)
    await rig.ready("olga")
    return olga, desk, await rig.web("supervisor"), await rig.ami()


async def test_listen_whisper_barge_heard_by_the_right_phones(rig: Rig, tmp_path: Path) -> None:
    agent_heard, caller_heard = tmp_path / "agent-heard.wav", tmp_path / "caller-heard.wav"
    olga, desk, boss, ami = await olga_and_the_desk(rig, tmp_path, agent_heard)
    since = time.time()
    try:
        assert (await call(boss, "PUT", "/api/supervision/phone", {"phone": "PJSIP/1029"}))[0] == 200
        caller = rig.caller("+8613911130001", play=LAB_RECORDINGS / "customer-refund.wav", record=caller_heard)
        channel = await caller_channel(ami, "+8613911130001", since)
        linkedid = await linkedid_of(ami, channel)
        # the recordings start when the phones log CONFIRMED (their clock, not when the test looked)
        caller_up = (await caller.wait_state("CONFIRMED", 20)).logged
        await through_menus(ami, caller, channel, GENERAL, since)
        agent_up = (await olga.wait_state("CONFIRMED", 30)).logged
        await asyncio.sleep(2.0)
        windows = {}
        listen, start, end = await spy(boss, linkedid, "listen")
        windows["listen"] = (start, end)
        sessions = [listen]
        for mode in ("whisper", "barge"):  # switched on the live spy: the phone is not rung again
            status, switched = await call(boss, "POST", f"/api/supervision/sessions/{sessions[-1]['id']}/mode",
                                          {"mode": mode})
            assert status == 200 and switched["mode"] == mode and switched["state"] == "active", switched
            assert switched["spy_channel"] == listen["spy_channel"], switched
            sessions.append(switched)
            start = time.time()
            await asyncio.sleep(HOLD_S)
            windows[mode] = (start, time.time())
        assert desk.count("CONFIRMED") == 1 and desk.count("DISCONNECTED") == 0, desk.lines()[-5:]
        status, body = await call(boss, "POST", f"/api/supervision/calls/{linkedid}/monitor", {"mode": "barge"})
        assert (status, body["error_id"]) == (409, "already_monitoring"), body  # a double click
        deputy = await rig.web("admin")
        try:
            await call(deputy, "PUT", "/api/supervision/phone", {"phone": "PJSIP/1029"})
            status, body = await call(deputy, "POST", f"/api/supervision/calls/{linkedid}/monitor",
                                      {"mode": "barge"})
            assert (status, body["error_id"]) == (409, "barge_taken"), body  # two supervisors at once
        finally:
            await deputy.close()
        status, ended = await call(boss, "DELETE", f"/api/supervision/sessions/{sessions[-1]['id']}")
        assert status == 200 and ended["end_reason"] == "stopped", ended
        await desk.wait_state("DISCONNECTED", 15)
        await asyncio.sleep(1.0)
        await spy(boss, linkedid, "listen")  # a second leg, which ChanSpy's E ends with the call
        caller.hangup()
        await caller.wait_state("DISCONNECTED", 10)
        await desk.wait_state("DISCONNECTED", 15, count=2)  # the listen leg went with the call
        await olga.wait_state("DISCONNECTED", 15)
        # the server stores a session's end after it sees the spy's Hangup, later than the phones
        rows = await wait_until(lambda: sessions_of(boss, linkedid),
                                lambda rows: len(rows) == 4 and rows[-1]["end_reason"] is not None,
                                what="the second listen session stored as ended", timeout_s=15)
        assert [(r["mode"], r["end_reason"]) for r in rows] == [
            ("listen", "switched"), ("whisper", "switched"), ("barge", "stopped"),
            ("listen", "call_ended")], rows
        assert all(r["supervisor"] == "supervisor" and r["agent_id"] == "olga" and r["answered_at"]
                   and r["spy_channel"].startswith("PJSIP/1029-") for r in rows), rows
        assert len({r["spy_channel"] for r in rows[:3]}) == 1 != len({r["spy_channel"] for r in rows}), rows
        await wait_until(lambda: live_sessions(boss), lambda live: live == [],
                         what="no live monitoring session", timeout_s=15)
        status, body = await call(boss, "POST", f"/api/supervision/calls/{linkedid}/monitor", {"mode": "listen"})
        assert status in (404, 409) and body["error_id"] in ("call_not_found", "call_ended"), body
        capture = rig.capture("supervision_chanspy", since)
        row = await rig.call_row(linkedid)
        assert row["outcome"] == "answered", row
    finally:
        await ami.close()
        await boss.close()
        rig.stop_phones()
    shares = {}
    for mode, (start, end) in windows.items():  # a second off each end: phones take a moment
        shares[mode] = (tone_share(agent_heard, start - agent_up + 1.0, end - agent_up - 0.5),
                        tone_share(caller_heard, start - caller_up + 1.0, end - caller_up - 0.5))
    print("tone share (agent heard, caller heard):", shares, "capture:", capture)
    assert shares["listen"][0] < 0.05 and shares["listen"][1] < 0.05, shares
    assert shares["whisper"][0] > 0.3 and shares["whisper"][1] < 0.05, shares
    assert shares["barge"][0] > 0.3 and shares["barge"][1] > 0.3, shares


async def test_a_mode_keyed_on_the_supervisors_phone_is_what_asterisk_does_and_what_is_stored(
        rig: Rig, tmp_path: Path) -> None:
    """Listening, the supervisor keys 5 on the desk phone (RFC 4733): ChanSpy whispers (the
    agent hears the tone), and the stored session, the wallboard and the audit say whisper."""
    agent_heard = tmp_path / "agent-heard.wav"
    olga, desk, boss, ami = await olga_and_the_desk(rig, tmp_path, agent_heard)
    since = time.time()
    try:
        assert (await call(boss, "PUT", "/api/supervision/phone", {"phone": "PJSIP/1029"}))[0] == 200
        caller = rig.caller("+8613911130002", play=LAB_RECORDINGS / "customer-refund.wav")
        channel = await caller_channel(ami, "+8613911130002", since)
        linkedid = await linkedid_of(ami, channel)
        await caller.wait_state("CONFIRMED", 20)
        await through_menus(ami, caller, channel, GENERAL, since)
        agent_up = (await olga.wait_state("CONFIRMED", 30)).logged
        await asyncio.sleep(2.0)
        listen, start, end = await spy(boss, linkedid, "listen")
        desk.dtmf("5")
        keyed_at = time.time()
        live: list[dict[str, Any]] = []
        for _ in range(100):  # a poll of what the wallboard shows, bounded (not a delay)
            live = (await boss.get("/api/supervision/sessions"))["sessions"]
            if [s["mode"] for s in live] == ["whisper"]:
                break
            await asyncio.sleep(0.1)
        assert [(s["mode"], s["spy_channel"]) for s in live] == [("whisper", listen["spy_channel"])], live
        whisper_start = time.time()
        await asyncio.sleep(HOLD_S)
        whisper_end = time.time()
        status, ended = await call(boss, "DELETE", f"/api/supervision/sessions/{live[0]['id']}")
        assert status == 200 and ended["end_reason"] == "stopped", ended
        await desk.wait_state("DISCONNECTED", 15)
        caller.hangup()
        await caller.wait_state("DISCONNECTED", 10)
        await olga.wait_state("DISCONNECTED", 15)
        rows = (await boss.get(f"/api/supervision/calls/{linkedid}/sessions"))["sessions"]
        assert [(r["mode"], r["end_reason"]) for r in rows] == [("listen", "switched"), ("whisper", "stopped")], rows
        db = await rig.db()
        try:
            audit = await db.fetch("SELECT action FROM audit_log WHERE target = $1"
                                   " AND action LIKE 'call_monitor%' ORDER BY id", linkedid)
        finally:
            await db.close()
        assert [a["action"] for a in audit] == ["call_monitor_started", "call_monitor_switched",
                                                "call_monitor_stopped"], audit
    finally:
        await ami.close()
        await boss.close()
        rig.stop_phones()
    listening = tone_share(agent_heard, start - agent_up + 1.0, min(end, keyed_at) - agent_up - 0.5)
    whispering = tone_share(agent_heard, whisper_start - agent_up + 1.0, whisper_end - agent_up - 0.5)
    print("tone share the agent heard: listening", listening, "after the key", whispering)
    assert listening < 0.05 and whispering > 0.3, (listening, whispering)


async def test_hangup_by_the_uniqueid_an_originate_gave_hangs_up_that_channel_only(rig: Rig) -> None:
    """What the server relies on for spies left while its link was down: Asterisk 22 makes an
    Originate's ``ChannelId`` the channel's uniqueid, and ``Hangup`` takes that uniqueid as its
    ``Channel``; another channel to the same phone stays; a uniqueid no longer there (hung up,
    or Asterisk restarted) is "No such channel", and nothing else is hung up."""
    desk = rig.agent_phone("desk", mode="answer")
    await rig.wait_registered("1029")
    ami = await rig.ami()
    try:
        since = time.time()
        ids = [f"spy-check-{since:.0f}-{n}" for n in ("a", "b")]
        for uid in ids:
            reply = await ami.send({"Action": "Originate", "Channel": "PJSIP/1029", "Application": "Wait",
                                    "Data": "60", "ChannelId": uid, "Async": "true"})
            assert reply[0].response == "Success", reply[0].raw
        for uid in ids:
            up = await ami.wait(lambda s, u=uid: s.frame.event == "Newstate" and s.get("Uniqueid") == u
                                and s.get("ChannelStateDesc") == "Up", 15, f"{uid} answered", since)
            assert up.get("Channel").startswith("PJSIP/1029-"), up.frame.raw
        first, second = ids
        reply = await ami.send({"Action": "Hangup", "Channel": first, "Cause": "16"})
        assert reply[0].response == "Success", reply[0].raw
        await ami.wait(lambda s: s.frame.event == "Hangup" and s.get("Uniqueid") == first, 10,
                       "the first hung up", since)
        await asyncio.sleep(1.0)
        assert not ami.find(lambda s: s.frame.event == "Hangup" and s.get("Uniqueid") == second, since)
        again = await ami.send({"Action": "Hangup", "Channel": first, "Cause": "16"})
        assert (again[0].response, again[0].get("Message")) == ("Error", "No such channel"), again[0].raw
        reply = await ami.send({"Action": "Hangup", "Channel": second, "Cause": "16"})
        assert reply[0].response == "Success", reply[0].raw
        await ami.wait(lambda s: s.frame.event == "Hangup" and s.get("Uniqueid") == second, 10,
                       "the second hung up", since)
    finally:
        await ami.close()
        desk.stop()
        rig.stop_phones()
