"""schemathesis against /api/openapi.json on the assembled server: whatever it sends (wrong
types, missing fields, huge and hostile strings, SQL metacharacters), the API answers with a
documented client error or success — never a server error."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

import aiohttp

from callcenter.server.build import build_server
from callcenter.web.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def fuzz(base: str, headers: dict[str, str], examples: int) -> tuple[int, str]:
    args = [str(SCHEMATHESIS), "run", f"{base}/api/openapi.json",
            "--checks", "not_a_server_error", "--max-examples", str(examples), "--seed", "7",
            "--phases", "examples,coverage,fuzzing", "--exclude-path-regex", "^/(login|logout)$",
            "--request-timeout", "10", "--workers", "1", "--no-color"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace")


async def test_no_request_from_the_schema_fuzzer_causes_a_server_error(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            await UserStore(server.database.pool).create_user("fuzzboss", "Fuzz Boss", "supervisor", "demo")
            base = f"http://127.0.0.1:{server.http_port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                response = await http.post(f"{base}/login", json={"login": "fuzzboss", "password": "demo"})
                assert response.status == 200
                csrf = (await response.json())["csrf_token"]
                cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
                paths = (await (await http.get(f"{base}/api/openapi.json")).json())["paths"]
            assert len(paths) >= 5
            code, report = await fuzz(base, {"Cookie": cookie, "X-CSRF-Token": csrf}, examples=15)
            assert code == 0, report[-6000:]
            # the session survived the fuzzing and still works
            async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http:
                assert (await http.get(f"{base}/api/me")).status == 200
