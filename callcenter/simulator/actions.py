"""AMI actions: check the headers, answer like Asterisk 22, then act on the PBX.

A handler returns a :class:`Reply`: the frames to write first (the response, list items), then
what to do on the PBX (whose events must follow the response on the wire), and whether the
session ends. Bad input always gets ``Response: Error`` with a message saying what is wrong.
"""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
from callcenter.ami.parser import Frame
from callcenter.simulator.actions_atxfer import ATXFER_HANDLERS
from callcenter.simulator.actions_control import CONTROL_HANDLERS, hangup_matching
from callcenter.simulator.actions_media import MEDIA_HANDLERS
from callcenter.simulator.actions_transfer import TRANSFER_HANDLERS
from callcenter.simulator.clock import epoch
from callcenter.simulator.model import OriginateRequest
from callcenter.simulator.replies import TRUE, Handler, Reply, SessionState
from callcenter.simulator.replies import err as _err
from callcenter.simulator.replies import ok as _ok

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

def login(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    config = pbx.config
    user_ok = frame.get("Username") == config.username
    secret_ok = hmac.compare_digest(frame.get("Secret").encode(), config.secret.encode())
    if not (user_ok and secret_ok):
        return _err(aid, "Authentication failed", close=True)
    state.authenticated, state.username = True, config.username
    state.events = frame.get("Events", "on").strip().lower() not in ("off", "no", "false")
    uptime = str(int(pbx.clock.now()))
    booted = frames.event("FullyBooted", [("Uptime", uptime), ("LastReload", uptime),
                                          ("Status", "Fully Booted")])
    reply = _ok(aid, "Authentication accepted")
    if state.events:
        reply.frames.append(booted)
    return reply


def logoff(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    return Reply([frames.response(aid, "Goodbye", ("Message", "Thanks for all the fish."))],
                 close=True)


def ping(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    return Reply([frames.response(aid, "Success", ("Ping", "Pong"),
                                  ("Timestamp", f"{epoch(pbx.clock):.6f}"))])


_CID = re.compile(r'^\s*(?:"(?P<qname>[^"]*)"|(?P<name>[^<]*?))\s*<(?P<num>[^>]*)>\s*$')


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Alice Chen" <13800000001>`` → (``13800000001``, ``Alice Chen``); ``123`` → (``123``, "")."""
    match = _CID.match(text)
    if match is not None:
        return match["num"].strip(), (match["qname"] if match["qname"] is not None
                                      else match["name"] or "").strip()
    text = text.strip().strip('"')
    return (text, "") if text.replace("+", "").isdigit() else ("", text)


def originate(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    channel = frame.get("Channel").strip()
    if not channel:
        return _err(aid, "Channel not specified")
    if frame.get("Async").strip().lower() not in TRUE:
        return _err(aid, "Originate without Async: true is not supported by the simulator "
                         "(it blocks the AMI session on Asterisk); send Async: true")
    if "/" not in channel:
        return _err(aid, "Invalid channel")
    priority_text, timeout_text = frame.get("Priority").strip(), frame.get("Timeout").strip()
    if priority_text and not priority_text.isdigit():
        return _err(aid, "Invalid priority")
    if timeout_text and not timeout_text.lstrip("-").isdigit():
        return _err(aid, "Invalid timeout")
    application, exten = frame.get("Application").strip(), frame.get("Exten").strip()
    if not application and not exten:
        return _err(aid, "Exten or Application not specified")
    num, name = parse_callerid(frame.get("CallerID"))
    variables: list[tuple[str, str]] = []
    for value in frame.values("Variable"):
        for item in value.split(","):
            key, sep, val = item.partition("=")
            if sep and key.strip():
                variables.append((key.strip(), val))
    timeout_ms = int(timeout_text) if timeout_text else 30000
    req = OriginateRequest(channel, aid, frame.get("Context").strip(), exten,
                           int(priority_text) if priority_text else 1, application,
                           frame.get("Data"), max(timeout_ms, 0) / 1000 or 30.0, num, name,
                           variables, channel_id=frame.get("ChannelId").strip(),
                           other_channel_id=frame.get("OtherChannelId").strip())

    def start() -> None:
        pbx.dialer.originate(req)

    return _ok(aid, "Originate successfully queued", start)


def agi(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    channel, command = frame.get("Channel").strip(), frame.get("Command").strip()
    if not channel or not command:
        return _err(aid, "Both, Channel and Command are *required*")
    problem = pbx.agi.add_command(channel, command, frame.get("CommandID"))
    return _err(aid, problem) if problem else _ok(aid, "Added AGI command to queue")


def hangup(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    name = frame.get("Channel").strip()
    if not name:
        return _err(aid, "No channel specified")
    cause_text = frame.get("Cause").strip()
    cause = int(cause_text) if cause_text.isdigit() and 0 < int(cause_text) <= 127 else 16
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        return hangup_matching(pbx, name[1:-1], cause, aid)
    ch = pbx.find(name)
    if ch is None or not ch.alive:
        return _err(aid, "No such channel")
    return _ok(aid, "Channel Hungup", lambda: pbx.hangups.hangup_action(ch, cause))


def redirect(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    name = frame.get("Channel").strip()
    context, exten = frame.get("Context").strip(), frame.get("Exten").strip()
    priority_text = frame.get("Priority").strip() or "1"
    if not name:
        return _err(aid, "Channel not specified")
    if not context:
        return _err(aid, "Context not specified")
    if not exten:
        return _err(aid, "Exten not specified")
    if not priority_text.isdigit() or int(priority_text) < 1:
        return _err(aid, "Invalid priority")
    ch = pbx.find(name)
    if ch is None or not ch.alive:
        return _err(aid, f"Channel does not exist: {name}")
    return _ok(aid, "Redirect successful",
               lambda: pbx.dialplan.redirect(ch, context, exten, int(priority_text)))


def bridge(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    first, second = frame.get("Channel1").strip(), frame.get("Channel2").strip()
    if not first or not second:
        return _err(aid, "Missing channel parameter in request")
    one, two = pbx.find(first), pbx.find(second)
    if one is None or not one.alive:
        return _err(aid, f"Channel1 does not exist: {first}")
    if two is None or not two.alive or two is one:
        return _err(aid, f"Channel2 does not exist: {second}")
    return _ok(aid, "Channel has been bridged", lambda: pbx.bridging.bridge_action(one, two))


HANDLERS: dict[str, Handler] = {
    "login": login, "logoff": logoff, "ping": ping, "originate": originate, "agi": agi,
    "hangup": hangup, "redirect": redirect, "bridge": bridge, **MEDIA_HANDLERS, **CONTROL_HANDLERS,
    **TRANSFER_HANDLERS, **ATXFER_HANDLERS,
}
