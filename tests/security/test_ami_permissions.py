"""The shipped AMI user may do what the server does, and nothing more."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from callcenter.ami.permissions import ACTION_AUTHORITY, needed_read, needed_write

REPO = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((REPO / "callcenter").rglob("*.py")), *sorted((REPO / "ivr").rglob("*.py"))]


def sent_actions() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        if path.name == "permissions.py" or "simulator" in path.parts:
            continue
        found.update(re.findall(r'\bAction\("([A-Za-z]+)"', path.read_text(encoding="utf-8")))
    return found


def manager_user() -> tuple[set[str], set[str]]:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), strict=False)
    parser.read(REPO / "asterisk-conf" / "manager.conf", encoding="utf-8")
    section = parser["callcenter"]
    split = lambda value: {part.strip() for part in value.split(",") if part.strip()}  # noqa: E731
    return split(section["read"]), split(section["write"])


def test_every_action_the_server_sends_has_a_known_authority() -> None:
    actions = sent_actions()
    assert {"Originate", "AGI", "Hangup", "MixMonitor", "CoreShowChannels"} <= actions
    assert actions <= set(ACTION_AUTHORITY), actions - set(ACTION_AUTHORITY)


def test_the_shipped_ami_user_is_authorised_for_every_action() -> None:
    _, write = manager_user()
    for action in sent_actions():
        authority = ACTION_AUTHORITY[action]
        assert not authority or authority & write, f"{action} needs one of {sorted(authority)}"


def test_the_shipped_ami_user_has_no_class_it_does_not_need() -> None:
    read, write = manager_user()
    assert write == needed_write(sent_actions())
    assert read == needed_read()
    assert not {"command", "config", "user", "agent"} & (read | write)


def test_the_ami_user_only_connects_from_the_server() -> None:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), strict=False)
    parser.read(REPO / "asterisk-conf" / "manager.conf", encoding="utf-8")
    assert parser["callcenter"]["deny"] == "0.0.0.0/0.0.0.0"
    assert parser["callcenter"]["permit"].startswith("127.0.0.1/")
