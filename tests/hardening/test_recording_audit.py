"""Every request that can return bytes of a recording is audited once, with the canonical id;
ids in other spellings (Unicode digits, signs, underscores) are refused."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.recording.conftest import *  # noqa: F403 - the recording fixtures
from tests.recording.test_api_recordings import Rig, login, setup

__all__ = ["setup"]


@pytest.mark.parametrize("ranges", ["bytes=0-", "bytes=-100", "bytes=1-", "bytes=10-20",
                                    "bytes=0-10,20-30", "bytes=100-", "bytes=0-0"])
async def test_every_range_request_is_audited_once_with_the_canonical_id(
        setup: tuple[TestClient, Rig, dict[str, int]], pool: asyncpg.Pool, ranges: str) -> None:
    client, _, ids = setup
    await login(client, "reviewer")
    before = await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'recording.%'")
    response = await client.get(f"/api/recordings/{ids['recording']}/audio", headers={"Range": ranges})
    await response.read()
    assert response.status in (200, 206, 416)
    rows = await pool.fetch("SELECT target, detail FROM audit_log WHERE action LIKE 'recording.%'"
                            " ORDER BY id")
    assert len(rows) == before + 1, ranges  # once, before any byte could leave
    assert rows[-1]["target"] == f"recording:{ids['recording']}"
    assert ranges in rows[-1]["detail"]


async def test_ids_in_other_spellings_are_refused_and_not_audited(
        setup: tuple[TestClient, Rig, dict[str, int]], pool: asyncpg.Pool) -> None:
    client, _, ids = setup
    await login(client, "reviewer")
    rid = ids["recording"]
    arabic = "".join(chr(0x0660 + int(d)) for d in str(rid))
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in str(rid))
    audited = "SELECT count(*) FROM audit_log WHERE action LIKE 'recording.%'"
    before = await pool.fetchval(audited)
    for spelled in (arabic, fullwidth, f"+{rid}", f"{rid}_", f" {rid}", "9" * 30, "-1", "0"):
        response = await client.get(f"/api/recordings/{spelled}/audio")
        assert response.status == 404, spelled
        assert (await response.json())["error_id"] == "not_found"
    assert await pool.fetchval(audited) == before
    ok = await client.get(f"/api/recordings/0{rid}/audio")  # a leading zero: canonicalised
    assert ok.status == 200
    assert await pool.fetchval("SELECT target FROM audit_log WHERE action = 'recording.play'"
                               " ORDER BY id DESC LIMIT 1") == f"recording:{rid}"
