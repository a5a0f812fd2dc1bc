"""A real Asterisk 22 started on the overlaid ``asterisk-conf/`` for one test module.

``Pbx.start`` runs ``run-asterisk`` (returns once Asterisk is fully booted), ``stop`` ends it
(and is safe to call twice), ``freeze``/``thaw`` send SIGSTOP/SIGCONT (a PBX that hangs),
``restart`` stops and starts it on the same state folder, ``cli`` runs one CLI command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.pbx.bundle import REPO, Bundle
from tests.pbx.overlay import OverlaySpec, write_overlay

CONF = REPO / "asterisk-conf"
SOUNDS = CONF / "sounds"


class Pbx:
    def __init__(self, bundle: Bundle, work: Path, spec: OverlaySpec) -> None:
        self.bundle = bundle
        self.spec = spec
        self.conf = write_overlay(CONF, work / "conf", spec)
        self.state = work / "state"
        self.pid = 0

    @property
    def monitor_dir(self) -> Path:
        return self.state / "spool" / "monitor"

    @property
    def log(self) -> Path:
        return self.state / "log" / "messages"

    def start(self) -> None:
        result = subprocess.run(
            [str(self.bundle.run_asterisk), "--conf", str(self.conf), "--state", str(self.state),
             "--sounds", str(SOUNDS)], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"run-asterisk failed ({result.returncode}): {result.stderr.strip()}")
        fields = dict(part.split("=", 1) for part in result.stdout.split() if "=" in part)
        self.pid = int(fields["pid"])

    def stop(self) -> None:
        if not self.pid:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)  # a frozen Asterisk cannot stop
        subprocess.run([str(self.bundle.run_asterisk), "--stop", "--state", str(self.state)],
                       capture_output=True, timeout=30, check=False)
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.pid = 0

    def alive(self) -> bool:
        if not self.pid:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            if stat.split(") ", 1)[1].startswith("Z"):
                return False
        return True

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def cli(self, command: str) -> str:
        home = Path(self.bundle.library_path.split(":")[1]).parent  # ASTERISK_HOME/lib -> ASTERISK_HOME
        result = subprocess.run(
            [str(home / "sbin" / "asterisk"), "-C", str(self.state / "etc" / "asterisk.conf"),
             "-rx", command], capture_output=True, text=True, env=self.bundle.env(), timeout=15,
            check=False)
        return result.stdout
