"""AMI frames as Asterisk 22 writes them: header sets, header order and Privilege values copied
from the lab captures (``shared/asterisk-lab/transcripts``). Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.simulator.model import STATE_DESC, Bridge, Channel

Pairs = list[tuple[str, str]]

CALL, DIALPLAN, AGI, DTMF, SYSTEM = "call,all", "dialplan,all", "agi,all", "dtmf,all", "system,all"

PRIVILEGE = {
    "Newchannel": CALL, "Newstate": CALL, "NewCallerid": CALL, "NewConnectedLine": CALL,
    "Newexten": DIALPLAN, "VarSet": DIALPLAN, "LocalBridge": CALL, "DialBegin": CALL,
    "DialState": CALL, "DialEnd": CALL, "OriginateResponse": CALL, "DeviceStateChange": CALL,
    "BridgeCreate": CALL, "BridgeEnter": CALL, "BridgeLeave": CALL, "BridgeDestroy": CALL,
    "SoftHangupRequest": CALL, "HangupRequest": CALL, "Hangup": CALL,
    "AsyncAGIStart": AGI, "AsyncAGIExec": AGI, "AsyncAGIEnd": AGI, "AGIExecStart": AGI,
    "AGIExecEnd": AGI, "DTMFBegin": DTMF, "DTMFEnd": DTMF, "MusicOnHoldStart": CALL,
    "MusicOnHoldStop": CALL, "MixMonitorStart": CALL, "MixMonitorStop": CALL,
    "MixMonitorMute": CALL, "ChanSpyStart": CALL, "ChanSpyStop": CALL,
    "FullyBooted": SYSTEM, "PeerStatus": SYSTEM, "ContactStatus": SYSTEM,
}

CAUSE_TEXT = {
    0: "Unknown", 1: "Unallocated (unassigned) number", 3: "No route to destination",
    16: "Normal Clearing", 17: "User busy", 18: "No user responding",
    19: "User alerting, no answer", 21: "Call Rejected", 27: "Destination out of order",
    31: "Normal, unspecified", 34: "Circuit/channel congestion", 38: "Network out of order",
    41: "Temporary failure", 127: "Interworking, unspecified",
}


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


def shown(value: str) -> str:
    return value if value else "<unknown>"


def snapshot(ch: Channel, prefix: str = "") -> Pairs:
    """The channel snapshot every channel event carries, optionally prefixed (``Dest``…)."""
    return [
        (f"{prefix}Channel", ch.name), (f"{prefix}ChannelState", str(ch.state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(ch.state, "Unknown")),
        (f"{prefix}CallerIDNum", shown(ch.cid_num)), (f"{prefix}CallerIDName", shown(ch.cid_name)),
        (f"{prefix}ConnectedLineNum", shown(ch.conn_num)),
        (f"{prefix}ConnectedLineName", shown(ch.conn_name)),
        (f"{prefix}Language", ch.language), (f"{prefix}AccountCode", ch.accountcode),
        (f"{prefix}Context", ch.context), (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", str(ch.priority)), (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]


def bridge_fields(bridge: Bridge) -> Pairs:
    return [
        ("BridgeUniqueid", bridge.uniqueid), ("BridgeType", bridge.bridge_type),
        ("BridgeTechnology", bridge.technology), ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"), ("BridgeNumChannels", str(len(bridge.members))),
        ("BridgeVideoSourceMode", "none"),
    ]


def event(name: str, *parts: Iterable[tuple[str, str]]) -> Pairs:
    pairs: Pairs = [("Event", name), ("Privilege", PRIVILEGE.get(name, CALL))]
    for part in parts:
        pairs.extend(part)
    return pairs


def channel_event(name: str, ch: Channel, *extra: tuple[str, str]) -> Pairs:
    return event(name, snapshot(ch), extra)


def response(action_id: str | None, status: str, *pairs: tuple[str, str]) -> Pairs:
    out: Pairs = [("Response", status)]
    if action_id is not None:
        out.append(("ActionID", action_id))
    out.extend(pairs)
    return out


def error(action_id: str | None, message: str) -> Pairs:
    return response(action_id, "Error", ("Message", message))


def render(pairs: Pairs) -> bytes:
    """One frame: ``Key: value`` lines, CRLF, a blank line. CR/LF inside values are flattened."""
    lines = [f"{key}: {value.replace(chr(13), ' ').replace(chr(10), ' ')}" for key, value in pairs]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
