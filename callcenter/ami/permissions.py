"""What the server asks of Asterisk's manager interface: the least-privilege AMI user.

Asterisk lets an AMI user run an action when its ``write`` classes share at least one class
with the action's authority (actions with authority 0 need none); events reach a user whose
``read`` classes include the event's class. The tables below hold the authority of every action
this server sends and the class of every event it needs (from Asterisk 22's ``manager.c``,
``res_agi.c``, ``app_mixmonitor.c``, ``main/manager_bridges.c``, ``main/features.c``), so the
shipped ``asterisk-conf/manager.conf`` can be checked against them.
"""

from __future__ import annotations

from collections.abc import Iterable

# action -> the classes that authorise it (any one suffices; empty = no permission needed)
ACTION_AUTHORITY: dict[str, frozenset[str]] = {
    "Login": frozenset(),
    "Logoff": frozenset(),
    "Ping": frozenset(),
    "BridgeList": frozenset(),
    "AGI": frozenset({"agi"}),
    "Originate": frozenset({"originate"}),
    "Bridge": frozenset({"call"}),
    "Redirect": frozenset({"call"}),
    "BlindTransfer": frozenset({"call"}),  # the console's transfer to a skill queue
    "Atxfer": frozenset({"call"}),  # the console's consult (attended) transfer
    "PlayDTMF": frozenset({"call"}),  # features codes of a consult, a spy's mode digit
    "Setvar": frozenset({"call"}),
    "Hangup": frozenset({"system", "call"}),
    "MixMonitor": frozenset({"system"}),  # app_mixmonitor registers it with system only
    "MuteAudio": frozenset({"system"}),  # res_mutestream: the console's hold and mute
    "MixMonitorMute": frozenset({"system", "call"}),
    "StopMixMonitor": frozenset({"system", "call"}),
    "Status": frozenset({"system", "call", "reporting"}),
    "CoreShowChannels": frozenset({"system", "reporting"}),
}

# read class -> the events of that class the server consumes
EVENT_CLASSES: dict[str, frozenset[str]] = {
    "call": frozenset({"Newchannel", "Newstate", "NewCallerid", "NewConnectedLine", "Hangup",
                       "HangupRequest", "SoftHangupRequest", "DialBegin", "DialState", "DialEnd",
                       "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy",
                       "OriginateResponse", "MixMonitorStart", "MixMonitorStop",
                       "MixMonitorMute", "DeviceStateChange", "MusicOnHoldStart",
                       "MusicOnHoldStop", "LocalBridge", "ChanSpyStart", "ChanSpyStop",
                       "BlindTransfer", "AttendedTransfer"}),
    "agi": frozenset({"AsyncAGIStart", "AsyncAGIExec", "AsyncAGIEnd", "AGIExecStart",
                      "AGIExecEnd"}),
    "dtmf": frozenset({"DTMFBegin", "DTMFEnd"}),
    "system": frozenset({"FullyBooted", "PeerStatus", "ContactStatus", "Reload", "Shutdown"}),
}


# how much a write class lets a user do beyond what the server needs (least is preferred)
_POWER = {"reporting": 1, "agi": 2, "call": 3, "originate": 4, "system": 9}


def needed_write(actions: Iterable[str]) -> set[str]:
    """The least powerful smallest set of write classes that authorises every one of ``actions``.

    Raises:
        KeyError: an action whose authority is not in :data:`ACTION_AUTHORITY`.
    """
    wanted = [options for options in (ACTION_AUTHORITY[name] for name in actions) if options]
    classes = sorted(set().union(*wanted), key=lambda c: (_POWER.get(c, 10), c))
    best: set[str] | None = None
    for mask in range(1 << len(classes)):
        chosen = {c for i, c in enumerate(classes) if mask >> i & 1}
        if all(options & chosen for options in wanted) and (
                best is None or _cost(chosen) < _cost(best)):
            best = chosen
    return best or set()


def _cost(classes: set[str]) -> tuple[int, int]:
    return len(classes), sum(_POWER.get(c, 10) for c in classes)


def needed_read() -> set[str]:
    return set(EVENT_CLASSES)
