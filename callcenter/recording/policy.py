"""When and where calls are recorded: a pure decision from the call's state.

Every answered call is recorded from the moment the caller and the agent are bridged, as one
mixed file plus one file per direction (MixMonitor ``r()`` = what the caller says, ``t()`` =
what the caller hears, i.e. the agent), laid out by date:
``<monitor_dir>/2026/11/23/<linkedid>-mixed.wav``, ``…-customer.wav``, ``…-agent.wav``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from callcenter.ami import messages
from callcenter.ami.messages import Action
from callcenter.calls.model import Call, CallState


@dataclass(frozen=True, slots=True)
class RecordingPaths:
    mixed: str
    customer: str
    agent: str

    def all(self) -> tuple[str, str, str]:
        return self.mixed, self.customer, self.agent


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    """``monitor_dir`` is where Asterisk writes (its own file system)."""

    monitor_dir: str = "/var/spool/asterisk/monitor"
    enabled: bool = True

    def paths_for(self, call: Call) -> RecordingPaths:
        day = datetime.fromtimestamp(call.bridged_at or call.arrived_at, UTC)
        base = PurePosixPath(self.monitor_dir) / f"{day:%Y/%m/%d}" / _safe(call.linkedid)
        return RecordingPaths(f"{base}-mixed.wav", f"{base}-customer.wav", f"{base}-agent.wav")

    def start_action(self, call: Call) -> Action | None:
        """The MixMonitor to send now, or None: only once, when the call is first talking."""
        if not self.enabled or call.state is not CallState.TALKING or call.recordings:
            return None
        caller = call.caller
        if caller is None or caller.ended_at is not None:
            return None
        paths = self.paths_for(call)
        return messages.mix_monitor(caller.channel, paths.mixed, paths.customer, paths.agent)

    def mute_action(self, call: Call, muted: bool) -> Action | None:
        """Pause (or resume) the recording while payment data is given."""
        caller = call.caller
        if not call.recordings or caller is None or caller.ended_at is not None:
            return None
        return messages.mix_monitor_mute(caller.channel, muted)


def _safe(linkedid: str) -> str:
    """Linkedids are ``<epoch>.<n>``; anything else is reduced to a safe file name."""
    cleaned = "".join(c for c in linkedid if c.isalnum() or c in "._-")
    return cleaned.lstrip(".") or "call"
