"""Routes one client frame to its action handler (the AMI "manager" layer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.ami.parser import Frame
from callcenter.simulator.actions import HANDLERS
from callcenter.simulator.replies import Reply, SessionState, err

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx


def dispatch(pbx: Pbx, state: SessionState, frame: Frame) -> Reply:
    """Answer one action. Unknown actions, missing headers and actions before login get
    ``Response: Error`` with Asterisk's message."""
    aid = frame.get("ActionID") if frame.get("ActionID", "\0") != "\0" else None
    name = frame.get("Action").strip()
    if not name:
        return err(aid, "Missing action in request")
    key = name.lower()
    if not state.authenticated and key not in ("login", "logoff", "challenge"):
        return err(aid, "Permission denied")
    handler = HANDLERS.get(key)
    if handler is None:
        return err(aid, f"Invalid/unknown command: {name}. Use Action: ListCommands to show "
                        "available commands.")
    return handler(pbx, state, frame, aid)
