"""Every string a client can put in a query or path parameter of the documented API — search
boxes, filters, ids — is data, never SQL: metacharacters get a 2xx/4xx answer, and the
database is untouched."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from callcenter.server.build import build_server
from callcenter.web.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = ["' OR '1'='1", "'; DROP TABLE calls; --", "\\'; SELECT pg_sleep(5); --", "%' AND 1=1 --",
            "\") OR 1=1 --", "1; DELETE FROM users", "退款' OR 'a'='a", "$1", "%%", "_", "\\", "' UNION SELECT password_hash FROM users --"]


def string_params(document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) for every free-text string parameter of a GET route."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method != "get":
                continue
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                if schema.get("type") == "string" and "enum" not in schema and "format" not in schema:
                    found.append((method, path, param["in"], param["name"]))
    return found


async def test_sql_metacharacters_in_every_string_parameter_are_harmless(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            pool = server.database.pool
            await UserStore(pool).create_user("sqladmin", "SQL Admin", "admin", "demo")
            tables = await pool.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            users = await pool.fetchval("SELECT count(*) FROM users")
            base = f"http://127.0.0.1:{server.http_port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                login = await http.post(f"{base}/login", json={"login": "sqladmin", "password": "demo"})
                assert login.status == 200
                document = await (await http.get(f"{base}/api/openapi.json")).json()
                targets = string_params(document)
                assert targets, "no string parameters found"
                for _method, path, where, name in targets:
                    for payload in PAYLOADS:
                        if where == "path":
                            url = base + path.replace("{" + name + "}", quote(payload, safe=""))
                            params = {}
                        else:
                            url, params = base + path, {name: payload}
                            url = url.replace("{", "").replace("}", "")  # other path params: junk ids
                        async with http.get(url, params=params) as response:
                            assert response.status < 500, (path, name, payload, response.status,
                                                           await response.text())
            assert await pool.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == tables
            assert await pool.fetchval("SELECT count(*) FROM users") == users
