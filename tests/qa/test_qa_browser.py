"""The QA review page in a real browser (Debian Chromium): filter, open a call, override an item."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from callcenter.jobs.queue import JobQueue
from callcenter.metrics import Metrics
from callcenter.recording.registry import path_mapper
from callcenter.store.users import UserStore
from callcenter.web import api_qa, api_recordings, qa_page
from callcenter.web.app import Health, make_app
from callcenter.web.recording_access import RecordingAccess
from qa.worker import QaWorker
from tests.helpers.chromium import chromium, signed_in
from tests.helpers.polling import wait_until
from tests.qa.test_worker import CARDS, LINES, a_transcribed_call, drain, keyword_scorer

LAB = Path("/work/shared/asterisk-lab/recordings")
MONITOR = "/var/spool/asterisk/monitor"


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


@pytest.fixture
async def site(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, int]]]:
    await pool.execute("TRUNCATE users, sessions, jobs, calls, utterances, qa_results, qa_overrides,"
                       " recordings RESTART IDENTITY CASCADE")
    users = UserStore(pool)
    await users.create_user("reviewer", "Quinn Reviewer", "qa", "demo")
    agent = await pool.fetchval(
        "INSERT INTO agents (login, display_name, dial_string) VALUES ('qa_sam', 'Sam Lee', 'PJSIP/1001')"
        " ON CONFLICT (login) DO UPDATE SET display_name = EXCLUDED.display_name RETURNING id")
    good = await a_transcribed_call(pool, "1700001000.1", LINES)
    rude = await a_transcribed_call(pool, "1700001001.1", [
        ("agent", 9.0, 10.0, "yes"), ("customer", 11.0, 15.0, "it arrived broken"),
        ("agent", 30.0, 32.0, "calm down it is not my problem"), ("customer", 33.0, 34.0, "awful")])
    await pool.execute("UPDATE calls SET agent_id = $1, context = context || '{\"route.skill\": \"refunds\"}'",
                       agent)
    shutil.copy(LAB / "refund-call-mixed.wav", tmp_path / "good-mixed.wav")
    await pool.execute(
        "INSERT INTO recordings (call_id, kind, path, started_at, ended_at, size_bytes, duration_s, sha256, status)"
        " VALUES ($1, 'mixed', $2, now(), now(), 1, 24.5, $3, 'final')", good, f"{MONITOR}/good-mixed.wav", "0" * 64)
    await drain(QaWorker(pool, JobQueue(pool), keyword_scorer, CARDS, "browser-test"))
    access = RecordingAccess(path_mapper(MONITOR, str(tmp_path)), tmp_path)
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_recordings.feature(access), api_qa.register, qa_page.register])
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), {"good": good, "rude": rude}
    finally:
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def test_reviewer_filters_opens_a_call_and_overrides_an_item(
        site: tuple[str, dict[str, int]], browser: Browser, pool: asyncpg.Pool) -> None:
    base, calls = site
    page, errors = await signed_in(browser, base, "reviewer", "/qa")
    await page.wait_for_selector("#qa-list")
    assert await page.locator(".qa-row").count() == 2

    await page.select_option("select[name=flag]", "prohibited_word")
    await page.click("#qa-filters button[type=submit]")
    await wait_until(lambda: page.locator(".qa-row").count(), lambda n: n == 1, "one row", timeout_s=5)
    assert await page.locator(".qa-row").get_attribute("data-call") == str(calls["rude"])
    assert "calls.csv?flag=prohibited_word" in (await page.get_attribute("#qa-export", "href") or "")

    await page.select_option("select[name=flag]", "")
    await page.click("#qa-filters button[type=submit]")
    await wait_until(lambda: page.locator(".qa-row").count(), lambda n: n == 2, "two rows", timeout_s=5)
    await page.click(f".qa-row[data-call='{calls['good']}']")
    await page.wait_for_selector("#qa-items")
    assert await page.locator("#qa-audio").get_attribute("src") is not None
    negative = page.locator(".qa-utt.sentiment-negative")
    assert await negative.count() == 1 and "upset" in (await negative.text_content() or "")
    before = await page.text_content("#qa-final")

    resolution = page.locator(".qa-item[data-item=resolution]")
    assert "i have processed" in (await resolution.text_content() or "")
    await resolution.locator("input[name=comment]").fill("refund was not actually confirmed")
    await resolution.locator(".qa-fail").click()
    await wait_until(lambda: page.text_content("#qa-final"), lambda v: v != before, "a new final score",
                     timeout_s=5)
    after = await page.text_content("#qa-final")
    assert after != before
    row = await pool.fetchrow("SELECT final_score, total, reviewer FROM qa_results WHERE call_id = $1",
                              calls["good"])
    assert row["final_score"] < row["total"] and row["reviewer"] == "reviewer"
    audit = await pool.fetchrow("SELECT detail FROM audit_log WHERE action = 'qa.override'")
    assert audit is not None and "resolution" in audit["detail"]
    assert not errors, errors
