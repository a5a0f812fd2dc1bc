"""Recordings, transcripts and the pause button over HTTP: roles, Range, audit, traversal."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.model import Call, CallState, Leg, LegRole, Side
from callcenter.metrics import Metrics
from callcenter.recording.pause import RecordingPauser
from callcenter.recording.policy import RecordingPolicy
from callcenter.recording.registry import path_mapper
from callcenter.store.users import UserStore
from callcenter.web import api_recordings
from callcenter.web.app import Health, make_app
from callcenter.web.recording_access import RecordingAccess

LAB = Path("/work/shared/asterisk-lab/recordings")
MONITOR = "/var/spool/asterisk/monitor"


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


class Rig:
    def __init__(self) -> None:
        self.sent: list[Action] = []
        self.calls: dict[str, Call] = {}

    async def send(self, action: Action) -> AmiResponse:
        self.sent.append(action)
        return AmiResponse(Frame({"Response": "Success"}, "Response: Success"))


@pytest.fixture
async def setup(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[TestClient, Rig, dict[str, int]]]:
    await pool.execute("TRUNCATE users, sessions, calls, recordings, utterances, transcripts,"
                       " recording_gaps RESTART IDENTITY CASCADE")
    users = UserStore(pool)
    ids = {}
    for n in (1, 2):
        ids[f"agent{n}"] = await pool.fetchval(
            "INSERT INTO agents (login, display_name, dial_string) VALUES ($1, $1, $2)"
            " ON CONFLICT (login) DO UPDATE SET display_name = EXCLUDED.display_name RETURNING id",
            f"rec{n}", f"PJSIP/20{n}")
        await users.create_user(f"agent{n}", f"Agent {n}", "agent", "demo", agent_id=ids[f"agent{n}"])
    await users.create_user("reviewer", "Reviewer", "qa", "demo")
    now = datetime.now(UTC)
    call = await pool.fetchval(
        "INSERT INTO calls (linkedid, state, arrived_at, answered_at, agent_id)"
        " VALUES ('1700000500.1', 'talking', $1, $1, $2) RETURNING id", now, ids["agent1"])
    (tmp_path / "2026").mkdir()
    shutil.copy(LAB / "refund-call-mixed.wav", tmp_path / "2026" / "c-mixed.wav")
    ids["recording"] = await pool.fetchval(
        "INSERT INTO recordings (call_id, kind, path, started_at, ended_at, size_bytes, sha256, status)"
        " VALUES ($1, 'mixed', $2, $3, $3, 1, $4, 'final') RETURNING id",
        call, f"{MONITOR}/2026/c-mixed.wav", now, "0" * 64)
    ids["outside"] = await pool.fetchval(
        "INSERT INTO recordings (call_id, kind, path, started_at, ended_at, size_bytes, sha256, status)"
        " VALUES ($1, 'customer', '/etc/passwd', $2, $2, 1, $3, 'final') RETURNING id",
        call, now, "0" * 64)
    ids["climb"] = await pool.fetchval(
        "INSERT INTO recordings (call_id, kind, path, started_at, ended_at, size_bytes, sha256, status)"
        " VALUES ($1, 'agent', $2, $3, $3, 1, $4, 'final') RETURNING id",
        call, f"{MONITOR}/../../../etc/passwd", now, "0" * 64)
    await pool.execute("INSERT INTO utterances (call_id, seq, speaker, start_s, end_s, text)"
                       " VALUES ($1, 0, 'agent', 0.1, 2.0, 'hello')", call)
    ids["call"] = call
    rig = Rig()
    leg = Leg("1700000500.1", "PJSIP/pstn-00000001", "1700000500.1", LegRole.CALLER, Side.CALLER,
              time.time())
    rig.calls["1700000500.1"] = Call("1700000500.1", time.time(), {leg.uniqueid: leg}, leg.uniqueid,
                                     state=CallState.TALKING, recordings=["x"])
    pauser = RecordingPauser(RecordingPolicy(), rig.send, pool, rig.calls.get, time.time)
    access = RecordingAccess(path_mapper(MONITOR, str(tmp_path)), tmp_path, pauser)
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_recordings.feature(access)])
    async with TestClient(TestServer(app)) as client:
        yield client, rig, ids


async def login(client: TestClient, user: str) -> str:
    response = await client.post("/login", json={"login": user, "password": "demo"})
    assert response.status == 200
    return str((await response.json())["csrf_token"])


async def test_audio_is_served_with_range_and_every_play_is_audited(
        setup: tuple[TestClient, Rig, dict[str, int]], pool: asyncpg.Pool) -> None:
    client, _, ids = setup
    await login(client, "reviewer")
    listing = await (await client.get(f"/api/calls/{ids['call']}/recordings")).json()
    assert listing["recordings"][0]["audio_url"] == f"/api/recordings/{ids['recording']}/audio"
    whole = await client.get(f"/api/recordings/{ids['recording']}/audio")
    assert whole.status == 200 and (await whole.read())[:4] == b"RIFF"
    part = await client.get(f"/api/recordings/{ids['recording']}/audio", headers={"Range": "bytes=100-199"})
    assert part.status == 206 and len(await part.read()) == 100
    download = await client.get(f"/api/recordings/{ids['recording']}/audio?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log WHERE actor = 'reviewer'")]
    # the seek (a Range request) served audio too: audited, once
    assert actions.count("recording.play") == 2 and actions.count("recording.download") == 1
    transcript = await (await client.get(f"/api/calls/{ids['call']}/transcript")).json()
    assert transcript["utterances"][0]["text"] == "hello" and transcript["status"] == "pending"


async def test_paths_outside_the_recording_directory_and_guessed_ids_are_not_served(
        setup: tuple[TestClient, Rig, dict[str, int]]) -> None:
    client, _, ids = setup
    await login(client, "reviewer")
    for rid in (ids["outside"], ids["climb"], 999999, "..%2f..%2fetc%2fpasswd", 2**70):
        response = await client.get(f"/api/recordings/{rid}/audio")
        assert response.status == 404, rid
        assert b"root:" not in await response.read()


async def test_an_agent_reaches_only_their_own_calls(setup: tuple[TestClient, Rig, dict[str, int]]) -> None:
    client, _, ids = setup
    await login(client, "agent2")
    assert (await client.get(f"/api/recordings/{ids['recording']}/audio")).status == 404
    assert (await client.get(f"/api/calls/{ids['call']}/transcript")).status == 404
    client.session.cookie_jar.clear()
    await login(client, "agent1")
    assert (await client.get(f"/api/recordings/{ids['recording']}/audio")).status == 200


async def test_the_agent_pauses_and_resumes_the_recording_and_the_gap_is_stored(
        setup: tuple[TestClient, Rig, dict[str, int]], pool: asyncpg.Pool) -> None:
    client, rig, ids = setup
    csrf = await login(client, "agent1")
    forged = await client.post(f"/api/calls/{ids['call']}/recording/pause", json={})
    assert forged.status == 403 and not rig.sent
    paused = await client.post(f"/api/calls/{ids['call']}/recording/pause", json={},
                               headers={"X-CSRF-Token": csrf})
    assert paused.status == 200 and (await paused.json())["applied"] is True
    resumed = await client.post(f"/api/calls/{ids['call']}/recording/resume", json={},
                                headers={"X-CSRF-Token": csrf})
    assert resumed.status == 200
    assert [(a.name, a.header("State"), a.header("Direction")) for a in rig.sent] == [
        ("MixMonitorMute", "1", "both"), ("MixMonitorMute", "0", "both")]
    gap = await pool.fetchrow("SELECT reason, actor, started_at, ended_at FROM recording_gaps")
    assert gap["reason"] == "agent_pause" and gap["actor"] == "agent1" and gap["ended_at"] >= gap["started_at"]
    listing = await (await client.get(f"/api/calls/{ids['call']}/recordings")).json()
    assert listing["gaps"][0]["reason"] == "agent_pause"
    client.session.cookie_jar.clear()
    other = await login(client, "agent2")
    refused = await client.post(f"/api/calls/{ids['call']}/recording/pause", json={},
                                headers={"X-CSRF-Token": other})
    assert refused.status == 404  # another agent's call looks like no call
