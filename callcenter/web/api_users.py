"""``/api/users``: admins create, list, disable/enable web log-ins and set their passwords.

Passwords go in the JSON body only, are hashed with argon2id and never come back; disabling an
account or setting its password ends its sessions. Every change is in the audit log.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.store.users import ROLES
from callcenter.web.accounts import LANGUAGES, MAX_PASSWORD, MIN_PASSWORD, AccountError, Accounts, NewAccount
from callcenter.web.auth import remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.keys import POOL
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import json_object


def _error(exc: AccountError) -> web.HTTPException:
    extra = {"parameter": exc.parameter} if exc.parameter else {}
    return api_error(exc.status, str(exc), exc.error_id, **extra)


async def _body(request: web.Request) -> dict[str, Any]:
    return await json_object(request, max_bytes=16 * 1024)


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise api_error(400, f"{key} must be a string", "bad_parameter", parameter=key)
    return value


async def list_users(request: web.Request) -> web.Response:
    require(request, "admin")
    return web.json_response({"users": await Accounts(request.app[POOL]).list()})


async def create_user(request: web.Request) -> web.Response:
    session = require(request, "admin")
    body = await _body(request)
    account = NewAccount(login=_text(body, "login"), display_name=_text(body, "display_name"),
                         role=_text(body, "role"), password=_text(body, "password"),
                         language=_text(body, "language", "en"), agent=_text(body, "agent", ""))
    try:
        user = await Accounts(request.app[POOL]).create(account, actor=session.user.login,
                                                        remote=remote_of(request))
    except AccountError as exc:
        raise _error(exc) from None
    return web.json_response(user, status=201)


async def set_disabled(request: web.Request) -> web.Response:
    session = require(request, "admin")
    body = await _body(request)
    disabled = body.get("disabled")
    if not isinstance(disabled, bool):
        raise api_error(400, "disabled must be true or false", "bad_parameter", parameter="disabled")
    try:
        user = await Accounts(request.app[POOL]).set_disabled(
            request.match_info["login"], disabled, actor=session.user.login, remote=remote_of(request))
    except AccountError as exc:
        raise _error(exc) from None
    return web.json_response(user)


async def set_password(request: web.Request) -> web.Response:
    session = require(request, "admin")
    body = await _body(request)
    try:
        user = await Accounts(request.app[POOL]).set_password(
            request.match_info["login"], _text(body, "password"), actor=session.user.login,
            remote=remote_of(request))
    except AccountError as exc:
        raise _error(exc) from None
    return web.json_response(user)


USER_SCHEMA = {"type": "object", "properties": {
    "login": {"type": "string"}, "display_name": {"type": "string"},
    "role": {"type": "string", "enum": list(ROLES)}, "language": {"type": "string"},
    "agent": {"type": ["string", "null"]}, "disabled": {"type": "boolean"},
    "created_at": {"type": "string"}, "last_seen_at": {"type": ["string", "null"]}}}


def register(app: web.Application, api: Api) -> None:
    login = Param("login", "path", {"type": "string"}, "the user's login", required=True)
    api.add(Route("GET", "/api/users", list_users, "Web log-ins (never their passwords)", ("admin",),
                  response={"type": "object", "properties": {"users": {"type": "array",
                                                                        "items": USER_SCHEMA}}}))
    api.add(Route("POST", "/api/users", create_user, "Create a web log-in (argon2id-hashed password)",
                  ("admin",), response=USER_SCHEMA,
                  body={"type": "object", "required": ["login", "display_name", "role", "password"],
                        "properties": {
                            "login": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{1,63}$"},
                            "display_name": {"type": "string", "maxLength": 200},
                            "role": {"type": "string", "enum": list(ROLES)},
                            "password": {"type": "string", "minLength": MIN_PASSWORD,
                                         "maxLength": MAX_PASSWORD},
                            "language": {"type": "string", "enum": list(LANGUAGES)},
                            "agent": {"type": "string",
                                      "description": "the agent's login (agents.login); required "
                                                     "for the agent role"}}}))
    api.add(Route("POST", "/api/users/{login}/disabled", set_disabled,
                  "Disable (ending its sessions) or re-enable a log-in", ("admin",), params=(login,),
                  response=USER_SCHEMA, body={"type": "object", "required": ["disabled"],
                                              "properties": {"disabled": {"type": "boolean"}}}))
    api.add(Route("POST", "/api/users/{login}/password", set_password,
                  "Set a log-in's password (ending its sessions)", ("admin",), params=(login,),
                  response=USER_SCHEMA, body={"type": "object", "required": ["password"], "properties": {
                      "password": {"type": "string", "minLength": MIN_PASSWORD,
                                   "maxLength": MAX_PASSWORD}}}))
