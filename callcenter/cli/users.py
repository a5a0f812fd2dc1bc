"""``callcenter users``: the deployer's way to make web log-ins for ``callcenter serve``.

    callcenter users add LOGIN --role ROLE --name "Full Name" [--agent AGENT_LOGIN] [--language en]
    callcenter users list
    callcenter users disable LOGIN      /  callcenter users enable LOGIN
    callcenter users password LOGIN

A password is never an argument (it would show in ``ps`` and shell history): it is asked twice on
a terminal, or read from the first line of standard input or of ``--password-file``. Output is
JSON; changes are audited with the actor ``cli:<os user>``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from callcenter.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="web log-ins: add, list, disable, enable, set a password")
    commands = users.add_subparsers(dest="users_command", required=True)
    add = commands.add_parser("add", help="create a log-in")
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=("agent", "supervisor", "qa", "admin"))
    add.add_argument("--name", required=True, help="the name shown on the pages")
    add.add_argument("--agent", default="", help="for the agent role: the agent's login (agents.login)")
    add.add_argument("--language", default="en", choices=("en", "zh-CN"))
    add.add_argument("--password-file", type=Path, help="read the password from this file's first line")
    commands.add_parser("list", help="list log-ins (JSON, one object a line)")
    for verb, text in (("disable", "disable a log-in and end its sessions"),
                       ("enable", "re-enable a disabled log-in")):
        commands.add_parser(verb, help=text).add_argument("login")
    password = commands.add_parser("password", help="set a log-in's password and end its sessions")
    password.add_argument("login")
    password.add_argument("--password-file", type=Path, help="read the password from this file's first line")


def read_password(path: Path | None) -> str:
    """The new password from ``path``, the terminal (asked twice) or standard input's first line.

    Raises:
        ValueError: unreadable file, empty input or the two entries differ.
    """
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        password = text.splitlines()[0] if text else ""
    elif sys.stdin.isatty():
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise ValueError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ValueError("no password given")
    return password


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        password = read_password(args.password_file) if args.users_command in ("add", "password") else ""
    except ValueError as exc:
        print(f"callcenter users: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, settings, password))


async def _run(args: argparse.Namespace, settings: Settings, password: str) -> int:
    from callcenter.store.db import open_database
    from callcenter.store.errors import DatabaseUnavailable
    from callcenter.store.migrate import migrate
    from callcenter.web.accounts import AccountError, Accounts, NewAccount

    try:
        database = await open_database(settings.database, settings.state_dir)
    except DatabaseUnavailable as exc:
        print(f"callcenter users: {exc}", file=sys.stderr)
        return 1
    try:
        await migrate(database.pool)
        accounts = Accounts(database.pool)
        actor = _actor()
        command = args.users_command
        result: Any
        if command == "list":
            for user in await accounts.list():
                print(json.dumps(user, ensure_ascii=False))
            return 0
        if command == "add":
            if args.agent:
                await _seed_agent(database.pool, settings, args.agent)
            result = await accounts.create(NewAccount(args.login, args.name, args.role, password,
                                                      args.language, args.agent), actor=actor)
        elif command in ("disable", "enable"):
            result = await accounts.set_disabled(args.login, command == "disable", actor=actor)
        else:
            result = await accounts.set_password(args.login, password, actor=actor)
        print(json.dumps(result, ensure_ascii=False))
        return 0
    except AccountError as exc:
        print(f"callcenter users: {exc}", file=sys.stderr)
        return 1 if exc.status in (404, 409) else 2
    finally:
        await database.close()


async def _seed_agent(pool: Any, settings: Settings, login: str) -> None:
    """An agent named in ``agents.yaml`` but not yet in the database (``serve`` never ran) is
    stored first, as ``serve`` would, so its log-in can be made before the first start."""
    from callcenter.agents.config import load_agents, load_skill_names
    from callcenter.agents.errors import AgentConfigError
    from callcenter.routing.agent_store import AgentStore

    if await pool.fetchval("SELECT 1 FROM agents WHERE login = $1", login):
        return
    config = settings.config_dir
    try:
        profiles = load_agents(config / "agents.yaml", load_skill_names(config / "skills.yaml"))
    except (AgentConfigError, OSError):
        return
    await AgentStore(pool).seed([p for p in profiles if p.agent_id == login])
