"""A supervisor sets an agent's state from the wallboard: supervisor only, each change audited
with the state it replaced, and the agent's own desktop (/ws/agent) shows it at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.integration.test_api_agents import boss_and_sam, login

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


async def next_state(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=5)
        if message.get("type") == "state":
            return message


async def test_given_forgotten_agent_when_supervisor_sets_states_then_console_follows_and_audited(
        db_url: str, tmp_path: Path) -> None:
    async with boss_and_sam(db_url, tmp_path) as base, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent_http, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as boss_http:
        agent_csrf = await login(agent_http, base, "agent1")
        refused = await agent_http.post(f"{base}/api/supervision/agents/sam/state",
                                        json={"state": "offline"}, headers={"X-CSRF-Token": agent_csrf})
        assert refused.status == 403 and (await refused.json())["error_id"] == "forbidden"
        csrf = await login(boss_http, base, "boss")

        async def force(agent: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with boss_http.post(f"{base}/api/supervision/agents/{agent}/state", json=body,
                                      headers={"X-CSRF-Token": csrf}) as response:
                return response.status, await response.json()

        async with agent_http.ws_connect(f"{base}/ws/agent?since=0") as ws:
            status, body = await force("sam", {"state": "ready"})
            assert status == 200 and body["state"] == "ready" and body["forced_by"] == "boss"
            assert (await next_state(ws))["state"] == "ready"
            status, body = await force("sam", {"state": "paused", "reason": "lunch"})
            assert (status, body["state"], body["reason"]) == (200, "paused", "lunch")
            shown = await next_state(ws)
            assert (shown["state"], shown["reason"]) == ("paused", "lunch")
            for bad, answer in (({"state": "paused", "reason": "nap"}, (400, "invalid_agent_request")),
                                ({"state": "paused"}, (400, "invalid_agent_request")),
                                ({"state": "talking"}, (400, "bad_parameter"))):
                status, body = await force("sam", bad)
                assert (status, body["error_id"]) == answer, body
            status, body = await force("nobody", {"state": "offline"})
            assert (status, body["error_id"]) == (404, "agent_not_found")
            status, body = await force("sam", {"state": "offline"})
            assert status == 200 and body["state"] == "offline"
            assert (await next_state(ws))["state"] == "offline"
            # a forgotten agent logged out can be put straight on a pause (logged in, paused)
            status, body = await force("sam", {"state": "paused", "reason": "training"})
            assert (status, body["state"], body["reason"]) == (200, "paused", "training")
            # the agents API used by a supervisor is audited the same way
            async with boss_http.post(f"{base}/api/agents/sam/state", json={"state": "offline"},
                                      headers={"X-CSRF-Token": csrf}) as response:
                assert response.status == 200
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT actor, target, detail FROM audit_log"
                                " WHERE action = 'agent_state_forced' ORDER BY id")
    finally:
        await conn.close()
    details = [json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"] for r in rows]
    assert {(r["actor"], r["target"]) for r in rows} == {("boss", "sam")}
    assert [(d["state"], d["reason"], d["before"]) for d in details[:-1]] == [
        ("ready", "", "offline"), ("paused", "lunch", "ready"), ("offline", "", "paused"),
        ("paused", "training", "offline")]
    assert details[-1] == {"state": "offline", "reason": ""}
