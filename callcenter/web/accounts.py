"""Managing web log-ins for a deployment: create, list, disable/enable, set a password.

One implementation behind both the ``callcenter users`` command and the admin API
(``/api/users``). Passwords are hashed with argon2id (:mod:`callcenter.store.users`); they are
never taken from a command line, logged or returned. Every change is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from callcenter.store.directory import agent_db_id
from callcenter.store.users import ROLES, UserStore

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
LANGUAGES = ("en", "zh-CN")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class AccountError(ValueError):
    """A request that cannot be carried out; ``status`` is the HTTP status it maps to."""

    def __init__(self, message: str, error_id: str, status: int = 400, parameter: str = "") -> None:
        super().__init__(message)
        self.error_id = error_id
        self.status = status
        self.parameter = parameter


@dataclass(frozen=True, slots=True)
class NewAccount:
    login: str
    display_name: str
    role: str
    password: str
    language: str = "en"
    agent: str = ""  # the agents.login this user is, required for the agent role


def check_password(password: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                           "weak_password", parameter="password")
    if password.strip() != password or "\x00" in password:
        raise AccountError("password must not start or end with spaces or hold NUL",
                           "bad_parameter", parameter="password")


def check_login(login: Any) -> str:
    if not isinstance(login, str) or not LOGIN_RE.fullmatch(login):
        raise AccountError("login must be 2-64 characters: a-z, 0-9, '.', '_', '-' (lower case, "
                           "starting with a letter or digit)", "bad_parameter", parameter="login")
    return login


def check_new(account: NewAccount) -> None:
    check_login(account.login)
    name = account.display_name
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or "\x00" in name:
        raise AccountError("display name must be 1-200 characters", "bad_parameter",
                           parameter="display_name")
    if account.role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}", "bad_parameter", parameter="role")
    if account.language not in LANGUAGES:
        raise AccountError(f"language must be one of {', '.join(LANGUAGES)}", "bad_parameter",
                           parameter="language")
    if account.role == "agent" and not account.agent:
        raise AccountError("an agent user needs the agent it is (its agents.login)", "bad_parameter",
                           parameter="agent")
    check_password(account.password)


class Accounts:
    """Account management on a migrated pool; ``actor`` and ``remote`` go to the audit log."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._users = UserStore(pool)

    async def create(self, account: NewAccount, *, actor: str, remote: str = "") -> dict[str, Any]:
        check_new(account)
        if await self._users.login_exists(account.login):
            raise AccountError(f"login {account.login!r} exists", "login_taken", 409, "login")
        agent_id: int | None = None
        if account.agent:
            agent_id = await agent_db_id(self._pool, account.agent)
            if agent_id is None:
                raise AccountError(f"no agent {account.agent!r}", "unknown_agent", 400, "agent")
            taken = await self._users.login_of_agent(agent_id)
            if taken is not None:
                raise AccountError(f"agent {account.agent!r} already has the log-in {taken!r}",
                                   "agent_taken", 409, "agent")
        user = await self._users.add_user(account.login, account.display_name.strip(), account.role,
                                          account.password, language=account.language,
                                          agent_id=agent_id)
        if user is None:
            raise AccountError(f"login {account.login!r} exists", "login_taken", 409, "login")
        await self._users.audit(actor, "user_created", target=account.login, remote=remote,
                                detail={"role": account.role, "agent": account.agent})
        return await self.get(account.login)

    async def get(self, login: str) -> dict[str, Any]:
        for user in await self._users.list_users():
            if user["login"] == login:
                return user
        raise AccountError(f"no user {login!r}", "not_found", 404, "login")

    async def list(self) -> list[dict[str, Any]]:
        return await self._users.list_users()

    async def set_disabled(self, login: str, disabled: bool, *, actor: str, remote: str = ""
                           ) -> dict[str, Any]:
        check_login(login)
        if disabled and login == actor:
            raise AccountError("you cannot disable your own log-in", "forbidden", 409, "login")
        if not await self._users.set_disabled(login, disabled):
            raise AccountError(f"no user {login!r}", "not_found", 404, "login")
        await self._users.audit(actor, "user_disabled" if disabled else "user_enabled", target=login,
                                remote=remote)
        return await self.get(login)

    async def set_password(self, login: str, password: str, *, actor: str, remote: str = ""
                           ) -> dict[str, Any]:
        check_login(login)
        check_password(password)
        if not await self._users.set_password(login, password):
            raise AccountError(f"no user {login!r}", "not_found", 404, "login")
        await self._users.audit(actor, "user_password_set", target=login, remote=remote)
        return await self.get(login)
