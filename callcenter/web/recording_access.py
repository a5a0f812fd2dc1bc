"""Where the web side finds recording files, and the pause button's link to the PBX."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from callcenter.recording.pause import RecordingPauser


@dataclass(frozen=True, slots=True)
class RecordingAccess:
    """``local`` maps a stored (Asterisk) path to this server's file; ``root`` is the directory
    every served file must be inside; ``pauser`` is absent without a live AMI link."""

    local: Callable[[str], Path]
    root: Path
    pauser: RecordingPauser | None = None
