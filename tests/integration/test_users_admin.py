"""Web log-ins for a deployment: the ``callcenter users`` command and the admin ``/api/users``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web.app import Health, make_app

REPO = Path(__file__).resolve().parents[2]


def users_cmd(db_url: str, *args: str, stdin: str = "", before: bool = False
              ) -> subprocess.CompletedProcess[str]:
    config = ["--config", str(REPO / "config" / "callcenter.toml")]
    argv = [*config, "users", *args] if before else ["users", *args, *config]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update({"DATABASE_URL": db_url, "CALLCENTER_TEST_DATABASE_URL": db_url})
    return subprocess.run([sys.executable, "-m", "callcenter", *argv], input=stdin, capture_output=True,
                          text=True, timeout=120, env=env, cwd=REPO)


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


async def _login(client: TestClient, login: str, password: str) -> int:
    response = await client.post("/login", json={"login": login, "password": password})
    return response.status


async def test_a_deployer_creates_a_login_from_the_command_line_and_it_logs_in(
        pool: asyncpg.Pool, db_url: str) -> None:
    await pool.execute("TRUNCATE users, sessions RESTART IDENTITY CASCADE")
    await pool.execute("INSERT INTO agents (login, display_name, dial_string) VALUES ('a1001', 'Ann',"
                       " 'PJSIP/1001') ON CONFLICT DO NOTHING")
    made = users_cmd(db_url, "add", "boss", "--role", "admin", "--name", "The Boss", stdin="s3cret-pass\n")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["role"] == "admin" and "s3cret" not in made.stdout + made.stderr
    agent = users_cmd(db_url, "add", "ann", "--role", "agent", "--name", "Ann", "--agent", "a1001",
                      stdin="ann-password\n", before=True)
    assert agent.returncode == 0, agent.stderr
    assert users_cmd(db_url, "add", "boss", "--role", "qa", "--name", "X", stdin="another-pass\n"
                     ).returncode == 1  # taken: nothing replaced
    assert users_cmd(db_url, "add", "weak", "--role", "qa", "--name", "W", stdin="short\n").returncode == 2
    assert users_cmd(db_url, "add", "nobody", "--role", "agent", "--name", "N", stdin="long-enough\n"
                     ).returncode == 2  # an agent log-in needs its agent
    # an agent of config/agents.yaml before serve ever stored it
    wei = users_cmd(db_url, "add", "wei.z", "--role", "agent", "--name", "Wei", "--agent", "wei",
                    stdin="wei-password\n")
    assert wei.returncode == 0, wei.stderr
    listed = [json.loads(line) for line in users_cmd(db_url, "list").stdout.splitlines()]
    assert [(u["login"], u["role"], u["agent"], u["disabled"]) for u in listed] == [
        ("ann", "agent", "a1001", False), ("boss", "admin", None, False), ("wei.z", "agent", "wei", False)]
    assert all("hash" not in json.dumps(u) for u in listed)
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE login = 'boss'")
    assert stored.startswith("$argon2id$")

    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool)
    async with TestClient(TestServer(app)) as client:
        assert await _login(client, "boss", "s3cret-pass") == 200
        assert await _login(client, "ann", "ann-password") == 200
        assert users_cmd(db_url, "disable", "ann").returncode == 0
        assert await _login(client, "ann", "ann-password") == 401
        assert users_cmd(db_url, "enable", "ann").returncode == 0
        assert users_cmd(db_url, "password", "ann", stdin="new-ann-password\n").returncode == 0
        assert await _login(client, "ann", "ann-password") == 401
        assert await _login(client, "ann", "new-ann-password") == 200
    assert users_cmd(db_url, "disable", "ghost").returncode == 1
    actions = await pool.fetch("SELECT action, target FROM audit_log WHERE actor LIKE 'cli%' ORDER BY id")
    assert [r["action"] for r in actions] == ["user_created", "user_created", "user_created", "user_disabled",
                                              "user_enabled", "user_password_set"]


def test_config_is_accepted_before_and_after_the_sub_command(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[ami]\nport = "eighty"\n')
    for argv in (["--config", str(config), "serve"], ["serve", "--config", str(config)],
                 ["migrate", "--config", str(config)], ["worker", "qa", "--config", str(config)]):
        result = subprocess.run([sys.executable, "-m", "callcenter", *argv], capture_output=True,
                                text=True, timeout=60, cwd=REPO)
        assert result.returncode == 2 and "ami.port" in result.stderr, (argv, result.stderr)


@pytest.fixture
async def admin_client(pool: asyncpg.Pool) -> AsyncIterator[TestClient]:
    await pool.execute("TRUNCATE users, sessions RESTART IDENTITY CASCADE")
    await pool.execute("INSERT INTO agents (login, display_name, dial_string) VALUES ('a2002', 'Bo',"
                       " 'PJSIP/2002') ON CONFLICT DO NOTHING")
    users = UserStore(pool)
    await users.create_user("root", "Root", "admin", "root-password")
    await users.create_user("sup", "Sup", "supervisor", "sup-password")
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool)
    async with TestClient(TestServer(app)) as client:
        yield client


async def _csrf(client: TestClient, login: str, password: str) -> str:
    response = await client.post("/login", json={"login": login, "password": password})
    assert response.status == 200
    return str((await response.json())["csrf_token"])


async def test_admin_api_creates_lists_disables_and_re_passwords(admin_client: TestClient,
                                                                 pool: asyncpg.Pool) -> None:
    client = admin_client
    csrf = await _csrf(client, "sup", "sup-password")
    assert (await client.get("/api/users")).status == 403
    assert (await client.post("/api/users", json={}, headers={"X-CSRF-Token": csrf})).status == 403
    await client.post("/logout", headers={"X-CSRF-Token": csrf})
    client.session.cookie_jar.clear()
    csrf = await _csrf(client, "root", "root-password")
    headers = {"X-CSRF-Token": csrf}
    body = {"login": "bo", "display_name": "Bo", "role": "agent", "agent": "a2002",
            "password": "bo-password", "language": "zh-CN"}
    assert (await client.post("/api/users", json=body)).status == 403  # no CSRF token
    made = await client.post("/api/users", json=body, headers=headers)
    assert made.status == 201, await made.text()
    user = await made.json()
    assert user["agent"] == "a2002" and user["language"] == "zh-CN" and "password" not in user
    again = await client.post("/api/users", json=body, headers=headers)
    assert again.status == 409 and (await again.json())["error_id"] == "login_taken"
    for bad, parameter in (({**body, "login": "Bad Login"}, "login"), ({**body, "role": "god"}, "role"),
                           ({**body, "login": "x2", "password": "short"}, "password"),
                           ({**body, "login": "x3", "agent": "nope"}, "agent"),
                           ({**body, "login": "x4", "display_name": 5}, "display_name")):
        response = await client.post("/api/users", json=bad, headers=headers)
        assert response.status == 400 and (await response.json())["parameter"] == parameter, bad
    listed = await (await client.get("/api/users")).json()
    assert [u["login"] for u in listed["users"]] == ["bo", "root", "sup"]

    other = TestClient(TestServer(client.app))
    async with other:
        assert (await other.post("/login", json={"login": "bo", "password": "bo-password"})).status == 200
        assert (await other.get("/api/me")).status == 200
        off = await client.post("/api/users/bo/disabled", json={"disabled": True}, headers=headers)
        assert off.status == 200 and (await off.json())["disabled"] is True
        assert (await other.get("/api/me")).status == 401  # sessions end with the account
    on = await client.post("/api/users/bo/disabled", json={"disabled": False}, headers=headers)
    assert on.status == 200
    own = await client.post("/api/users/root/disabled", json={"disabled": True}, headers=headers)
    assert own.status == 409
    weak = await client.post("/api/users/bo/password", json={"password": "x"}, headers=headers)
    assert weak.status == 400
    missing = await client.post("/api/users/ghost/password", json={"password": "long-enough"},
                                headers=headers)
    assert missing.status == 404
    changed = await client.post("/api/users/bo/password", json={"password": "bo-new-password"},
                                headers=headers)
    assert changed.status == 200
    assert (await client.post("/login", json={"login": "bo", "password": "bo-password"})).status == 401
    actions = [r["action"] for r in await pool.fetch(
        "SELECT action FROM audit_log WHERE actor = 'root' AND action LIKE 'user_%' ORDER BY id")]
    assert actions == ["user_created", "user_disabled", "user_enabled", "user_password_set"]
