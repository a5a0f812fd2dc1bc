"""/api/pause-reasons and /api/kpis/pauses on the assembled server: the configured reasons are
what an agent may pause for, and the pauses taken come back in the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.helpers.polling import wait_until
from tests.integration.test_api_agents import boss_and_sam, login

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


async def test_given_configured_reasons_then_menu_lists_them_and_others_are_refused(
        db_url: str, tmp_path: Path) -> None:
    async with boss_and_sam(db_url, tmp_path) as base, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert (await http.get(f"{base}/api/pause-reasons")).status == 401
        csrf = await login(http, base, "agent1")
        menu = (await (await http.get(f"{base}/api/pause-reasons")).json())["reasons"]
        assert {"code": "back_office", "label": {"en": "Back office", "zh-CN": "后台事务"}} in menu
        assert "missed" not in [r["code"] for r in menu]
        for state in ({"state": "ready"}, {"state": "paused", "reason": "back_office"}):
            answer = await http.post(f"{base}/api/agents/sam/state", json=state,
                                     headers={"X-CSRF-Token": csrf})
            assert answer.status == 200
        for refused in ("missed", "coffee"):
            answer = await http.post(f"{base}/api/agents/sam/state",
                                     json={"state": "paused", "reason": refused},
                                     headers={"X-CSRF-Token": csrf})
            body = await answer.json()
            assert answer.status == 400 and body["error_id"] == "invalid_agent_request"
            assert "known: break, lunch" in body["message"]
        assert (await http.get(f"{base}/api/kpis/pauses")).status == 403
        http.cookie_jar.clear()
        await login(http, base, "boss")
        report = await wait_until(
            lambda: _report(http, base), lambda r: any(x["reason"] == "back_office" for x in r["rows"]),
            "the pause stored and reported")
        mine = [r for r in report["rows"] if r["agent_id"] == "sam"]
        assert [r["reason"] for r in mine if r["reason"] == "back_office"] == ["back_office"]
        assert any(r["reason"] == "back_office" and r["count"] == 1 for r in report["by_reason"])
        csv_text = (await (await http.get(f"{base}/api/kpis/pauses.csv")).read()).decode("utf-8-sig")
        assert csv_text.splitlines()[0] == "day,agent_id,name,reason,count,seconds"
        assert any(",sam,Sam Lee,back_office,1," in line for line in csv_text.splitlines()), csv_text
        bad = await http.get(f"{base}/api/kpis/pauses?tz=Mars/Olympus")
        assert bad.status == 400 and (await bad.json())["error_id"] == "bad_parameter"


async def _report(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    report: dict[str, Any] = await (await http.get(f"{base}/api/kpis/pauses")).json()
    return report
