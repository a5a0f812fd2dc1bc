"""Every page, as every demo role, at a laptop's 1280x800 and a phone's 390x844, in Debian's
Chromium against the running demo: a screenshot of each is kept (test-output/browser), the page
must not scroll sideways, every character must render with a real glyph (Chinese included), and
axe-core must find no serious or critical accessibility violation. Also: ``/`` and the favicon,
styled 403/404 pages with a way back, the language switch stored per user, the Chinese-only
agent's pages in Chinese."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Error, Page

from tests.browser.conftest import AXE
from tests.helpers.chromium import chromium, log_in

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SIZES = ((1280, 800), (390, 844))
# (user, path): each role's pages; agent5 is Li Na, who speaks only Chinese
VIEWS = (
    ("supervisor", "/supervisor"), ("supervisor", "/qa"), ("supervisor", "/reports"), ("supervisor", "/kb"),
    ("admin", "/supervisor"), ("admin", "/reports"), ("admin", "/kb"), ("admin", "/qa"),
    ("qa", "/qa"),
    ("agent1", "/agent"), ("agent5", "/agent"),
    (None, "/login"), ("agent1", "/reports"), ("qa", "/no-such-page"),
)
EXPECTED_STATUS = {"/reports": {"agent1": 403}, "/no-such-page": {"qa": 404}}
READY = {"/supervisor": "#agents tbody tr", "/qa": "#qa-list tbody tr", "/reports": "#r-output[data-ready=true]",
         "/kb": "#kb-admin[data-ready=true]", "/agent": "#console[data-connected=true]",
         "/login": "input[name=login]", "/no-such-page": ".error-page"}

# Draws each character on a canvas in the page's own font and compares it with the glyph of a
# code point no font has (U+0378, unassigned): a character drawn like that one, or drawn as
# nothing, has no real glyph (it shows as an empty box). Returns the characters without one.
MISSING_GLYPHS_JS = """
(chars) => {
  const font = getComputedStyle(document.body).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (ch) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = `32px ${font}`;
    ctx.fillStyle = "#000";
    ctx.textBaseline = "top";
    ctx.fillText(ch, 4, 4);
    return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(",");
  };
  const notdef = draw("\\u0378");
  const blank = (() => { ctx.clearRect(0, 0, 48, 48); return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(","); })();
  return chars.filter((ch) => { const img = draw(ch); return img === notdef || img === blank; });
}
"""
VISIBLE_TEXT_JS = "() => document.body.innerText"
# lists that must fit the screen without scrolling sideways (at a phone's width each row is a card)
SIDEWAYS_JS = """
() => ["#qa-list"].flatMap((sel) => [...document.querySelectorAll(sel)])
  .filter((node) => node.closest(".table-wrap").scrollWidth > node.closest(".table-wrap").clientWidth)
  .map((node) => `#${node.id}`)
"""
# scored calls for the QA list: long names, several flags, a reviewer
SCORED_CALLS = (
    ("qa-view-1", "+86 138 0013 8000", 72.5, ["customer_ended_negative", "prohibited_word", "dead_air"], "qa"),
    ("qa-view-2", "+44 20 7946 0958", 91.0, [], None),
    ("qa-view-3", "+1 415 555 0100", 48.0, ["below_pass_mark", "no_speech"], "supervisor"),
)


def cjk(text: str) -> list[str]:
    return sorted({ch for ch in text if "\u3400" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scored_calls(demo_base: str, db_url: str) -> None:
    """A few scored calls in the demo's database, so the QA list has rows to lay out."""
    conn = await asyncpg.connect(db_url)
    try:
        agent = await conn.fetchval("SELECT id FROM agents ORDER BY id LIMIT 1")
        for linkedid, caller, score, flags, reviewer in SCORED_CALLS:
            call = await conn.fetchval(
                "INSERT INTO calls (linkedid, caller_number, state, outcome, agent_id, arrived_at, answered_at,"
                " ended_at, context) VALUES ($1, $2, 'ended', 'answered', $3, now() - interval '2 hours',"
                " now() - interval '2 hours', now() - interval '1 hour',"
                " '{\"route.skill\": \"returns\"}'::jsonb) RETURNING id", linkedid, caller, agent)
            await conn.execute(
                "INSERT INTO qa_results (call_id, scorecard, version, total, final_score, items, flags, reviewer)"
                " VALUES ($1, 'default', 1, $2, $2, '[]'::jsonb, $3, $4)", call, score, flags, reviewer)
    finally:
        await conn.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
        ".map((v) => ({ id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))")
    return [v for v in result if v["impact"] in ("serious", "critical")]


async def test_the_glyph_check_sees_a_character_no_font_has(browser: Browser, demo_base: str) -> None:
    """The missing-glyph check can fail: an unassigned code point is reported, a Latin letter
    and a Chinese character (with the CJK font bootstrap installs) are not."""
    page = await browser.new_page()
    try:
        await page.goto(demo_base + "/login?lang=zh-CN")
        missing = await page.evaluate(MISSING_GLYPHS_JS, ["\U0002fffe", "A", "中", "话"])
        assert missing == ["\U0002fffe"]
    finally:
        await page.close()


@pytest.mark.parametrize(("user", "path"), VIEWS, ids=[f"{u or 'anonymous'}{p.replace('/', '-')}" for u, p in VIEWS])
async def test_page_renders_fits_the_screen_and_is_accessible(
        browser: Browser, demo_base: str, scored_calls: None, output_dir: Path, user: str | None,
        path: str) -> None:
    problems: list[str] = []
    for width, height in SIZES:
        context = await browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True,
                                            locale="en-GB", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        errors: list[Error] = []

        def record(exc: Error, bucket: list[Error] = errors) -> None:
            bucket.append(exc)

        page.on("pageerror", record)
        try:
            if user is not None:
                await log_in(page, demo_base, user)
            response = await page.goto(demo_base + path)
            assert response is not None
            expected = EXPECTED_STATUS.get(path, {}).get(user or "", 200)
            assert response.status == expected, (user, path, response.status)
            await page.wait_for_selector(READY[path] if expected == 200 else ".error-page", timeout=30_000)
            await page.wait_for_timeout(1500)  # the first live update
            name = f"{user or 'anonymous'}{path.replace('/', '-')}-{width}x{height}"
            await page.screenshot(path=str(output_dir / f"{name}.png"), full_page=True)
            overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"{name}: {overflow} px wider than the screen")
            for sideways in await page.evaluate(SIDEWAYS_JS):
                problems.append(f"{name}: {sideways} scrolls sideways")
            text = await page.evaluate(VISIBLE_TEXT_JS)
            sample = sorted(set(text) - set(" \n\t\u00a0"))[:400]
            missing = await page.evaluate(MISSING_GLYPHS_JS, sample)
            if missing:
                problems.append(f"{name}: characters without a glyph: {''.join(missing)!r}")
            for violation in await axe_violations(page):
                problems.append(f"{name}: axe {violation['impact']} {violation['id']}: {violation['help']}"
                                f" at {violation['nodes']}")
            if errors:
                problems.append(f"{name}: script errors {[str(e) for e in errors]}")
            if user == "agent5":
                lang = await page.get_attribute("html", "lang")
                if lang != "zh-CN" or not cjk(text):
                    problems.append(f"{name}: the Chinese-only agent's page is not in Chinese ({lang})")
            if expected != 200 and await page.locator(".error-page a.button").count() != 1:
                problems.append(f"{name}: the error page has no way back")
        finally:
            await context.close()
    (output_dir / f"{user or 'anonymous'}{path.replace('/', '-')}.json").write_text(
        json.dumps(problems, ensure_ascii=False, indent=1), encoding="utf-8")
    assert problems == []


async def test_date_fields_and_dates_follow_the_page_language_and_time_zone(
        browser: Browser, demo_base: str, scored_calls: None) -> None:
    """An American browser on an English page in Shanghai: the date fields take the page's
    day/month/year, say so in their label with the time zone, and mean Shanghai time."""
    context = await browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
    page = await context.new_page()
    try:
        await log_in(page, demo_base, "supervisor")
        await page.goto(demo_base + "/reports")
        await page.wait_for_selector("#r-output[data-ready=true]")
        label = await page.text_content("label[for=r-from]") or ""
        assert "dd/mm/yyyy" in label and "Asia/Shanghai" in label, label
        week_ago = await page.evaluate(
            "new Intl.DateTimeFormat('en-GB', {year: 'numeric', month: '2-digit', day: '2-digit',"
            " timeZone: 'Asia/Shanghai'}).format(new Date(Date.now() - 7 * 86400000))")
        assert await page.input_value("#r-from") == week_ago

        await page.goto(demo_base + "/qa")
        await page.wait_for_selector("#qa-list tbody tr")
        assert "dd/mm/yyyy, hh:mm" in (await page.text_content("label[for=qa-from]") or "")
        async with page.expect_request(lambda r: "/api/qa/calls?" in r.url) as sent:
            await page.fill("#qa-from", "01/12/2026, 09:00")
            await page.click("#qa-filters button[type=submit]")
        assert "from=2026-12-01T01%3A00%3A00.000Z" in (await sent.value).url
        await page.wait_for_selector("#qa-list tbody tr")
        assert await page.input_value("#qa-from") == "01/12/2026, 09:00"
        await page.fill("#qa-from", "31/02/2026, 09:00")
        assert not await page.evaluate("document.getElementById('qa-from').checkValidity()")
        shown = await page.text_content("#qa-list tbody tr .qa-open") or ""
        assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", shown), shown
    finally:
        await context.close()


async def test_root_goes_to_log_in_or_home_and_the_favicon_is_served(demo_base: str) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        anonymous = await http.get(demo_base + "/", allow_redirects=False)
        assert anonymous.status == 303 and anonymous.headers["Location"] == "/login"
        icon = await http.get(demo_base + "/favicon.ico")
        assert icon.status == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
        assert "<svg" in await icon.text()
        login = await http.post(demo_base + "/login", json={"login": "qa", "password": "demo"})
        csrf = (await login.json())["csrf_token"]
        bad = await http.post(demo_base + "/api/me/language", json={"language": "fr"},
                              headers={"X-CSRF-Token": csrf})
        assert bad.status == 400 and (await bad.json())["error_id"] == "bad_parameter"
        forged = await http.post(demo_base + "/api/me/language", json={"language": "zh-CN"})
        assert forged.status == 403  # no CSRF token
        home = await http.get(demo_base + "/", allow_redirects=False)
        assert home.status == 303 and home.headers["Location"] == "/qa"
        # API clients keep their JSON errors; browsers get a page
        api = await http.get(demo_base + "/api/kpis")
        assert api.status == 403 and api.content_type == "application/json"
        page = await http.get(demo_base + "/reports", headers={"Accept": "text/html"})
        assert page.status == 403 and page.content_type == "text/html"
        assert re.search(r'<a class="button" href="/qa">', await page.text())


async def test_language_switch_is_stored_for_the_user(browser: Browser, demo_base: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    try:
        await log_in(page, demo_base, "qa")
        assert await page.get_attribute("html", "lang") == "en"
        assert await page.text_content("#user-name") == "Demo QA"
        async with page.expect_navigation():
            await page.select_option("#language-switch", "zh-CN")
        assert await page.get_attribute("html", "lang") == "zh-CN"
        assert await page.text_content(".app-header nav a[aria-current=page]") == "质检"
        await page.click("#logout")
        await page.wait_for_url(demo_base + "/login")
        await log_in(page, demo_base, "qa")  # a new session: the choice was stored
        assert await page.get_attribute("html", "lang") == "zh-CN"
        async with page.expect_navigation():
            await page.select_option("#language-switch", "en")
        assert await page.get_attribute("html", "lang") == "en"
    finally:
        await context.close()


def pop_event(call_id: str, name: str, seq: int) -> dict[str, Any]:
    return {"type": "pop", "seq": seq, "call_id": call_id, "call_db_id": None, "skill": "refunds",
            "caller": {"number": "13800000001", "name": name}, "ivr": {"path": ["identify", "main_menu"]},
            "context": {"status": "ok"}, "customer": None, "orders": [], "tickets": []}


Feed = Callable[..., Awaitable[None]]


@asynccontextmanager
async def fed_console(browser: Browser, base: str) -> AsyncIterator[tuple[Page, Feed, float]]:
    """agent8's console on a laptop-sized page, its feed played in by the test (``feed(*events)``
    hands each event to the page's socket), and the page's clock; Tom is logged off so that no
    real call interferes."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(base + "/login", json={"login": "supervisor", "password": "demo"})
        csrf = (await login.json())["csrf_token"]
        off = await http.post(base + "/api/agents/tom/state", json={"state": "offline"},
                              headers={"X-CSRF-Token": csrf})
        assert off.status == 200
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    try:
        await log_in(page, base, "agent8")
        await page.wait_for_selector("#console[data-connected=true]")
        clock = await page.evaluate("() => Date.now() / 1000")

        async def feed(*events: dict[str, Any]) -> None:
            for event in events:
                await page.evaluate("(e) => window.__consoleSocket.onmessage({ data: JSON.stringify(e) })", event)

        yield page, feed, clock
    finally:
        await context.close()


async def test_the_console_keeps_a_new_calls_pop_when_the_last_outcome_is_saved_late(
        browser: Browser, demo_base: str) -> None:
    """The wrap-up race: wrap-up times out with the outcome unsaved, the next call rings and is
    answered, then the agent saves the first call's outcome: the live call's pop stays. Also no
    literal "null", the countdown, the timer after a reload mid-call, and the KB panel cleared.
    The feed is played into the page (Tom is logged off so no real call interferes)."""
    async with fed_console(browser, demo_base) as (page, feed, clock):
        await feed({"type": "hello", "seq": 1000, "clock": clock, "speed": 1},
                   {"type": "state", "seq": 1001, "state": "offered", "reason": "", "since": clock},
                   pop_event("A", "Caller A", 1002))
        assert "null" not in (await page.text_content("#console") or "")
        assert "Ringing" in (await page.text_content("#pop-phase") or "")
        assert await page.is_visible("#ringing-alert")
        await feed({"type": "answered", "seq": 1003, "call_id": "A", "answered_at": clock - 65},
                   {"type": "state", "seq": 1004, "state": "talking", "reason": "", "since": clock})
        assert (await page.text_content("#call-timer") or "").startswith("1:0")  # from the answer
        await feed({"type": "call_ended", "seq": 1005, "call_id": "A"},
                   {"type": "state", "seq": 1006, "state": "wrap_up", "reason": "", "since": clock})
        assert await page.is_visible("#wrapup")
        assert "0:4" in (await page.text_content("#wrapup-countdown") or "")  # refunds: 45 s
        await feed({"type": "state", "seq": 1007, "state": "ready", "reason": "", "since": clock + 45})
        assert await page.is_visible("#wrapup")  # the outcome is still to save
        assert "over" in (await page.text_content("#wrapup-countdown") or "")
        await feed(pop_event("B", "Caller B", 1008),
                   {"type": "state", "seq": 1009, "state": "offered", "reason": "", "since": clock + 50},
                   {"type": "answered", "seq": 1010, "call_id": "B", "answered_at": clock + 52},
                   {"type": "state", "seq": 1011, "state": "talking", "reason": "", "since": clock + 52})
        await page.click("#btn-done")
        await page.wait_for_selector("#wrapup", state="hidden")
        assert "Caller B" in (await page.text_content("#call-caller") or "")
        assert not await page.locator("#pop.empty").count()
        assert await page.get_attribute("#agent-state", "data-state") == "talking"
        await feed({"type": "call_ended", "seq": 1012, "call_id": "B"},
                   {"type": "state", "seq": 1013, "state": "wrap_up", "reason": "", "since": clock + 90})
        assert "Caller B" in (await page.text_content("#wrapup-title") or "")
        await page.click("#btn-done")
        await page.wait_for_selector("#pop.empty")
        assert await page.locator("#kb-panel .kb-open").count() == 0  # the last call's suggestions went


async def test_the_console_counts_more_time_down_to_the_policy_limit_and_follows_a_callback(
        browser: Browser, demo_base: str) -> None:
    """"More time" in wrap-up shows how long it may last (the policy's wrap_up_max_s: 300 s
    after the call) and, when the router frees the agent at that limit, the wrap-up shows as
    over with its outcome still to save. A reload during a callback (routing names the original
    call, the pop the callback's own call) gets the call bar's controls back."""
    async with fed_console(browser, demo_base) as (page, feed, clock):
        await feed({"type": "hello", "seq": 2000, "clock": clock, "speed": 1},
                   {"type": "state", "seq": 2001, "state": "offered", "reason": "", "since": clock},
                   pop_event("A", "Caller A", 2002),
                   {"type": "answered", "seq": 2003, "call_id": "A", "answered_at": clock},
                   {"type": "state", "seq": 2004, "state": "talking", "reason": "", "since": clock},
                   {"type": "call_ended", "seq": 2005, "call_id": "A"},
                   {"type": "state", "seq": 2006, "state": "wrap_up", "reason": "", "since": clock},
                   {"type": "state", "seq": 2007, "state": "paused", "reason": "after_call_work",
                    "since": clock + 5})
        countdown = await page.text_content("#wrapup-countdown") or ""
        assert re.search(r"no calls for (5:00|4:5\d)", countdown), countdown  # 300 s from the call's end
        await feed({"type": "state", "seq": 2008, "state": "ready", "reason": "", "since": clock + 300})
        assert await page.is_visible("#wrapup")  # the outcome is still to save
        assert "over" in (await page.text_content("#wrapup-countdown") or "")
        callback = {**pop_event("CB", "", 2009), "callback_of": "ORIG",
                    "callback": {"number": "13800000001", "attempt": 1, "waited_s": 60}}
        await feed({"type": "snapshot", "seq": 2009, "pop": callback, "control": None,
                    "state": {"state": "talking", "reason": "", "call_id": "ORIG", "since": clock + 310}})
        assert await page.is_visible("#call-actions #btn-hold")
