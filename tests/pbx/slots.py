"""Port slots, so that several real-PBX runs (other worktrees, CI jobs on one machine) never
share a port. A run takes the first free slot by locking ``$TMPDIR/callcenter-pbx-slot-N.lock``
(released when the process exits, however it exits) and uses only that slot's ports, all below
Linux's ephemeral range (32768+) and apart from every other suite's:

- slot N (0-5): AMI 14000+N, SIP 14020+N;
- base B = 27000 + 900*N: Asterisk RTP B..B+399, agents' phones SIP B+400.., callers' phones
  SIP B+450.., agents' RTP B+500.. and callers' RTP B+700.. (8 ports per phone process).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SLOTS = 6
_held: list[IO[bytes]] = []


@dataclass(frozen=True)
class Ports:
    slot: int

    @property
    def ami(self) -> int:
        return 14000 + self.slot

    @property
    def sip(self) -> int:
        return 14020 + self.slot

    @property
    def base(self) -> int:
        return 27000 + 900 * self.slot

    @property
    def rtp(self) -> tuple[int, int]:
        return self.base, self.base + 399

    @property
    def agent_sip(self) -> int:
        return self.base + 400

    @property
    def caller_sip(self) -> int:
        return self.base + 450

    @property
    def agent_rtp(self) -> int:
        return self.base + 500

    @property
    def caller_rtp(self) -> int:
        return self.base + 700


def take_slot() -> Ports:
    """The first free slot, held until :func:`release` or the end of the process."""
    folder = Path(os.environ.get("TMPDIR") or tempfile.gettempdir())
    for slot in range(SLOTS):
        handle = open(folder / f"callcenter-pbx-slot-{slot}.lock", "wb")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _held.append(handle)
        return Ports(slot)
    raise RuntimeError(f"all {SLOTS} real-PBX port slots are in use")


def release(ports: Ports) -> None:
    for handle in list(_held):
        if handle.name.endswith(f"-{ports.slot}.lock"):
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
            _held.remove(handle)
