"""The server's HTTP API as a logged-in user sees it (the CSRF token sent with every request)."""

from __future__ import annotations

from typing import Any

import aiohttp


class Client:
    def __init__(self, http: aiohttp.ClientSession, base: str, csrf: str) -> None:
        self.http, self.base, self.csrf = http, base, csrf

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        async with self.http.request(method, self.base + path, json=body,
                                     headers={"X-CSRF-Token": self.csrf}) as response:
            return response.status, await response.json()


async def client(base: str, login: str) -> Client:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    response = await http.post(f"{base}/login", json={"login": login, "password": "demo"})
    assert response.status == 200
    return Client(http, base, str((await response.json())["csrf_token"]))
