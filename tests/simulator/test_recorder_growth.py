"""A simulated MixMonitor file grows as Asterisk's does: written once, front to back, so what a
reader saw while the call went on is the start of the closed file, sample for sample."""

from __future__ import annotations

import struct
from array import array
from pathlib import Path

import numpy as np

from callcenter.simulator.audio import AudioLog
from callcenter.simulator.recorder import Recorders


def voice(seconds: float, seed: int) -> array[int]:
    noise = np.random.default_rng(seed).normal(0, 3000, int(seconds * 8000))
    return array("h", np.clip(noise, -32768, 32767).astype(np.int16).tobytes())


def test_given_flushes_at_odd_instants_when_closed_then_every_read_while_it_grew_is_the_files_start(
        tmp_path: Path) -> None:
    log = AudioLog()
    recorders = Recorders(tmp_path, log)
    log.enter("caller", "b1", 0.0)
    log.enter("agent", "b1", 0.41)
    monitor = recorders.start("caller", "", "r(call-in.wav)t(call-out.wav)", 0.0)
    log.speech("caller", 0.123457, voice(2.0, 1))
    prompt = log.prompt("caller", 0.7000001, voice(3.0, 2))
    log.speech("agent", 1.0999999, voice(1.5, 3))
    seen: dict[Path, list[bytes]] = {p: [] for p in monitor.paths()}
    for now in (0.3333, 0.9871, 1.55555, 2.0001, 2.71828):
        recorders.flush(now)
        for path in monitor.paths():
            seen[path].append(path.read_bytes()[44:])
        if now > 2:
            prompt.cut(now)  # a prompt interrupted by a key press, at the time it happens
    monitor.mute("read", True, 2.9)
    recorders.stop("caller", 3.5)
    for path, reads in seen.items():
        final = path.read_bytes()
        riff, data = struct.unpack_from("<I", final, 4)[0], struct.unpack_from("<I", final, 40)[0]
        assert riff == len(final) - 8 and data == len(final) - 44 == 2 * 28000, path
        assert any(reads[-1]), "the audio was in the file while it grew"
        for read in reads:
            assert final[44:44 + len(read)] == read, (path, len(read))
    heard = np.frombuffer(monitor.read_file.read_bytes()[44:], dtype="<i2") if monitor.read_file else None
    assert heard is not None and not heard[int(2.9 * 8000):].any(), "muted from 2.9 s"
