"""Every API route, with every kind of malformed input: deep nesting, NUL and lone surrogates,
ids beyond int32/int64, numbers out of range, over-size bodies (with and without a length).
The answer is always a 4xx (or a success) with the JSON error body, never a 500."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from callcenter.server.build import build_server
from callcenter.web.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]
BAD_IDS = ["9" * 25, str(2**63), str(2**64), str(2**31), "-1", "0", "٤", "４", "1_0", "%00", "%ED%A0%80",
           "x" * 2000]
BAD_VALUES: list[Any] = [2**70, -(2**70), 2**31, -1, 1e308, "\u0000", "\ud800", "x" * 20_000, [], {},
                         None, True]
BAD_QUERY = ["%00", "%ED%A0%80", "9" * 40, "-" + "9" * 40, "1e999", "NaN", "٤", "x" * 5000]
DEEP = "[" * 100_000 + "]" * 100_000


async def cases(route: str, method: str, op: dict[str, Any]) -> AsyncIterator[tuple[str, str, dict[str, Any]]]:
    """(url, description, request kwargs) for one operation."""
    names = re.findall(r"{(\w+)}", route)
    good = {name: "1" for name in names}

    def url(**over: str) -> str:
        values = {**good, **over}
        return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], route)

    for name in names:
        for bad in BAD_IDS:
            yield url(**{name: bad}), f"path {name}={bad[:20]}", {}
    for param in op.get("parameters", []):
        if param["in"] != "query":
            continue
        for bad in BAD_QUERY:
            yield url() + f"?{param['name']}={bad}", f"query {param['name']}={bad[:20]}", {}
    if method in ("post", "put", "patch", "delete"):
        json_headers = {"Content-Type": "application/json"}
        yield url(), "deep nesting", {"data": DEEP, "headers": json_headers}
        yield url(), "deep object", {"data": '{"a":' * 5000 + "1" + "}" * 5000, "headers": json_headers}
        yield url(), "NUL escape", {"data": '{"x": "\\u0000"}', "headers": json_headers}
        yield url(), "lone surrogate", {"data": '{"x": "\\ud800"}', "headers": json_headers}
        yield url(), "invalid UTF-8", {"data": b'{"x": "\xff\xfe"}', "headers": json_headers}
        yield url(), "NaN", {"data": '{"x": NaN}', "headers": json_headers}
        yield url(), "2 MB body", {"data": b'{"x": "' + b"a" * 2_000_000 + b'"}', "headers": json_headers}

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"x": "'
            for _ in range(40):
                yield b"a" * 65_536
            yield b'"}'

        yield url(), "2.5 MB chunked", {"data": chunks, "headers": json_headers}
        schema = (op.get("requestBody", {}).get("content", {}).get("application/json", {})
                  .get("schema", {}))
        for prop in schema.get("properties", {}) or {"x": {}}:
            for bad in BAD_VALUES:
                body = {p: 1 for p in schema.get("properties", {})} | {prop: bad}
                yield url(), f"body {prop}={str(bad)[:20]}", {"json": body}


@pytest.fixture
async def server(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as running:
            pool = running.database.pool
            users = UserStore(pool)
            agent = await pool.fetchval("SELECT id FROM agents ORDER BY id LIMIT 1")
            await users.create_user("sweepboss", "Boss", "admin", "demo")
            await users.create_user("sweepagent", "Agent", "agent", "demo", agent_id=agent)
            base = f"http://127.0.0.1:{running.http_port}"
            async with aiohttp.ClientSession() as http:
                paths = (await (await http.get(f"{base}/api/openapi.json")).json())["paths"]
            yield base, paths


@pytest.mark.parametrize("user", ["sweepboss", "sweepagent"])
async def test_every_route_answers_malformed_input_with_a_json_4xx(
        server: tuple[str, dict[str, Any]], user: str) -> None:
    base, paths = server
    failures: list[str] = []
    count = 0
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        response = await http.post(f"{base}/login", json={"login": user, "password": "demo"})
        assert response.status == 200
        csrf = (await response.json())["csrf_token"]
        for route, operations in sorted(paths.items()):
            if route == "/logout":  # would end the sweep's session; /login is swept below
                continue
            for method, op in operations.items():
                async for url, what, kwargs in cases(route, method, op):
                    if callable(kwargs.get("data")):
                        kwargs = {**kwargs, "data": kwargs["data"]()}
                    headers = {"X-CSRF-Token": csrf, **kwargs.pop("headers", {})}
                    async with http.request(method.upper(), base + url, headers=headers,
                                            **kwargs) as answer:
                        count += 1
                        body = await answer.read()
                        if answer.status >= 500:
                            failures.append(f"{method.upper()} {route} [{what}] -> {answer.status}")
                        elif answer.status >= 400:
                            try:
                                error = json.loads(body)
                                assert error["status"] == answer.status and error["error_id"]
                            except (ValueError, KeyError, TypeError, AssertionError):
                                failures.append(f"{method.upper()} {route} [{what}] -> {answer.status}"
                                                f" without the JSON error body: {body[:80]!r}")
        # the server is still fine after the sweep
        assert (await http.get(f"{base}/api/me")).status == 200
    assert count > 500
    assert not failures, "\n".join(failures[:60]) + f"\n({len(failures)} of {count})"


async def test_login_refuses_hostile_bodies_with_a_json_4xx(server: tuple[str, dict[str, Any]]) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        for data in (DEEP, '{"login": "a\\u0000", "password": "x"}', '{"login": "\\ud800", "password": "x"}',
                     b"\xff" * 10, '{"login": ' + '"a' * 2_000_000 + '"}'):
            answer = await http.post(f"{base}/login", data=data, headers={"Content-Type": "application/json"})
            assert 400 <= answer.status < 500, (str(data)[:40], answer.status)
            assert (await answer.json())["error_id"]
