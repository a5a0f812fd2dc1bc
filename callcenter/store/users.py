"""Users, sessions and the audit log in PostgreSQL; passwords hashed with argon2id.

Hashing is deliberately slow, so it runs in a worker thread, never on the event loop.
Only the SHA-256 of a session token is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from callcenter.clock import utc, wall_time
from callcenter.store.rows import db_json, db_text

ROLES = ("agent", "supervisor", "qa", "admin")
_HASHER = PasswordHasher()
# Verifying against this when the login does not exist takes as long as a real check, so the
# response time does not tell which logins exist.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    login: str
    display_name: str
    role: str
    language: str
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def _user(row: asyncpg.Record) -> User:
    return User(row["id"], row["login"], row["display_name"], row["role"], row["language"],
                row["agent_id"])


class UserStore:
    """Accounts, sessions and audit entries.

    Args:
        pool: a migrated asyncpg pool.
        session_ttl: how long a session lives without use.
        clock: wall time (sessions expire in real time, also in a sped-up demo).
    """

    def __init__(self, pool: asyncpg.Pool, session_ttl: timedelta = timedelta(hours=12),
                 clock: Callable[[], float] = wall_time) -> None:
        self._pool = pool
        self._ttl = session_ttl
        self._clock = clock

    async def create_user(self, login: str, display_name: str, role: str, password: str, *,
                          language: str = "en", agent_id: int | None = None) -> User:
        """Create or replace (by login) an account.

        Raises:
            ValueError: unknown role or a password shorter than 4 characters.
        """
        user = await self._insert(login, display_name, role, password, language, agent_id, replace=True)
        assert user is not None
        return user

    async def add_user(self, login: str, display_name: str, role: str, password: str, *,
                       language: str = "en", agent_id: int | None = None) -> User | None:
        """Create an account; None when the login is taken (nothing is changed then).

        Raises:
            ValueError: unknown role or a password shorter than 4 characters.
        """
        return await self._insert(login, display_name, role, password, language, agent_id, replace=False)

    async def _insert(self, login: str, display_name: str, role: str, password: str, language: str,
                      agent_id: int | None, *, replace: bool) -> User | None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < 4:
            raise ValueError("password must have at least 4 characters")
        digest = await hash_password(password)
        conflict = ("""DO UPDATE SET display_name = EXCLUDED.display_name,
                   role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
                   language = EXCLUDED.language, agent_id = EXCLUDED.agent_id, disabled = false"""
                    if replace else "DO NOTHING")
        row = await self._pool.fetchrow(
            f"""INSERT INTO users (login, display_name, role, password_hash, language, agent_id)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (login) {conflict}
               RETURNING *""",
            login, display_name, role, digest, language, agent_id)
        return None if row is None else _user(row)

    async def list_users(self) -> list[dict[str, Any]]:
        """Every account (never its hash), with the agent it stands for and its last log-in."""
        rows = await self._pool.fetch(
            """SELECT u.id, u.login, u.display_name, u.role, u.language, u.disabled, u.created_at,
                      a.login AS agent,
                      (SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen_at
               FROM users u LEFT JOIN agents a ON a.id = u.agent_id ORDER BY u.login""")
        return [{"id": r["id"], "login": r["login"], "display_name": r["display_name"],
                 "role": r["role"], "language": r["language"], "agent": r["agent"],
                 "disabled": r["disabled"], "created_at": r["created_at"].isoformat(),
                 "last_seen_at": r["last_seen_at"].isoformat() if r["last_seen_at"] else None}
                for r in rows]

    async def set_disabled(self, login: str, disabled: bool) -> bool:
        """Disable (ending every session of) or re-enable an account; False when unknown."""
        async with self._pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "UPDATE users SET disabled = $2 WHERE login = $1 RETURNING id", login, disabled)
            if user_id is not None and disabled:
                await conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
        return user_id is not None

    async def set_password(self, login: str, password: str) -> bool:
        """Replace an account's password and end its sessions; False when the login is unknown."""
        if len(password) < 4:
            raise ValueError("password must have at least 4 characters")
        digest = await hash_password(password)
        async with self._pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "UPDATE users SET password_hash = $2 WHERE login = $1 RETURNING id", login, digest)
            if user_id is not None:
                await conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
        return user_id is not None

    async def set_language(self, user_id: int, language: str) -> None:
        """Store the language the user chose for the pages (``en`` or ``zh-CN``)."""
        await self._pool.execute("UPDATE users SET language = $2 WHERE id = $1", user_id, language)

    async def language_of(self, login: str) -> str | None:
        """The stored language of ``login``, or None when there is no such user."""
        value: str | None = await self._pool.fetchval("SELECT language FROM users WHERE login = $1", login)
        return value

    async def login_exists(self, login: str) -> bool:
        return bool(await self._pool.fetchval("SELECT 1 FROM users WHERE login = $1", login))

    async def login_of_agent(self, agent_id: int) -> str | None:
        """The log-in that stands for the agent row ``agent_id``, or None."""
        login: str | None = await self._pool.fetchval("SELECT login FROM users WHERE agent_id = $1",
                                                      agent_id)
        return login

    async def authenticate(self, login: str, password: str) -> User | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM users WHERE login = $1 AND NOT disabled", login)
        ok = await verify_password(row["password_hash"] if row else None, password)
        return _user(row) if ok and row is not None else None

    async def open_session(self, user: User, remote: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = utc(self._clock()) + self._ttl
        await self._pool.execute(
            "INSERT INTO sessions (token_sha256, user_id, csrf_token, expires_at, remote)"
            " VALUES ($1, $2, $3, $4, $5)", token_digest(token), user.id, csrf, expires, remote)
        return token, Session(user, csrf, expires)

    async def session(self, token: str) -> Session | None:
        """The live session behind a cookie token (and slide its expiry), or None."""
        if not token or len(token) > 200:
            return None
        row = await self._pool.fetchrow(
            """UPDATE sessions s SET last_seen_at = now(),
                   expires_at = greatest(s.expires_at, now() + $2::interval)
               FROM users u
               WHERE s.token_sha256 = $1 AND u.id = s.user_id AND NOT u.disabled
                 AND s.expires_at > now()
               RETURNING u.*, s.csrf_token, s.expires_at AS session_expires_at""",
            token_digest(token), self._ttl)
        if row is None:
            return None
        return Session(_user(row), row["csrf_token"], row["session_expires_at"])

    async def close_session(self, token: str) -> None:
        await self._pool.execute("DELETE FROM sessions WHERE token_sha256 = $1", token_digest(token))

    async def audit(self, actor: str, action: str, *, target: str = "", remote: str = "",
                    detail: dict[str, Any] | None = None) -> None:
        await self._pool.execute(
            "INSERT INTO audit_log (actor, action, target, remote, detail) VALUES ($1, $2, $3, $4, $5)",
            db_text(actor[:200]), action, db_text(target[:500]), db_text(remote[:100]),
            db_json(detail or {}))
