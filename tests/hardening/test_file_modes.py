"""Recordings written by the simulator are 0640 in 0750 folders, whatever the umask."""

from __future__ import annotations

import os
import stat
from array import array
from pathlib import Path

import pytest

from callcenter.simulator.recorder import close_wav, write_open_header


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o002])
def test_recordings_and_their_folders_are_not_world_readable(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        target = tmp_path / "monitor" / "2026" / "12" / "call-1-customer.wav"
        write_open_header(target)
        close_wav(target, array("h", [0, 1, -1] * 100))
        write_open_header(target)  # recorded again: still 0640
        close_wav(target, array("h", [0] * 10))
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    for folder in (target.parent, target.parent.parent, tmp_path / "monitor"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750, folder
    body = target.read_bytes()
    assert body[:4] == b"RIFF" and len(body) == 44 + 20
    assert int.from_bytes(body[4:8], "little") == len(body) - 8, "the sizes written at the close"
    assert int.from_bytes(body[40:44], "little") == 20
