"""pjsua softphones: agents' phones (registering, answering, busy, never answering) and callers
that dial in through the carrier's address like a trunk call.

Each phone is one pjsua process with null audio, its console on a pipe (DTMF, answer, hang-up)
and its log in a file that :meth:`Phone.wait` reads. A phone plays a WAV into its calls and
records what it hears when asked to.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.pbx.bundle import Bundle
from tests.pbx.overlay import CARRIER_ADDRESS
from tests.pbx.server import die_with_parent

# answer: 200 at once; ring: 180 and the test answers; busy: 486; never: rings forever
MODES = {"answer": "200", "ring": "180", "busy": "486", "never": "180"}
_STATE = re.compile(r"Call (\d+) (?:state changed to (\w+)|is (DISCONNECTED) \[reason=(\d+))")
_STAMP = re.compile(r"^(?:>>> )?(\d\d):(\d\d):(\d\d)\.(\d{3}) ")  # pjsua's own clock (local time)


@dataclass(frozen=True)
class CallState:
    at: float  # time.time() when the test saw it
    call: int
    state: str  # CALLING, EARLY, CONNECTING, CONFIRMED, DISCONNECTED
    code: int = 0  # SIP status of a DISCONNECTED
    logged: float = 0.0  # when pjsua logged it (its line's clock, as time.time()); else ``at``


def logged_at(line: str, seen: float) -> float:
    """The time on a pjsua log line (``HH:MM:SS.mmm``, local time) as time.time() would give
    it; ``seen`` (when the test read the line) when the line has none. Unlike ``seen`` it does
    not depend on when the test got round to reading the log."""
    match = _STAMP.match(line)
    if match is None:
        return seen
    hours, minutes, seconds, millis = (int(g) for g in match.groups())
    day = time.localtime(seen)
    stamp = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, hours, minutes, seconds, 0, 0, -1))
    stamp += millis / 1000
    if stamp - seen > 43200:  # logged just before midnight, read just after
        stamp -= 86400
    return stamp


class Phone:
    """One pjsua process. ``args`` are pjsua options besides logging and audio."""

    def __init__(self, bundle: Bundle, workdir: Path, name: str, args: list[str]) -> None:
        self.bundle = bundle
        self.name = name
        self.log = workdir / f"phone-{name}.log"
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self._offset = 0
        self._lines: list[tuple[float, str]] = []
        self.states: list[CallState] = []

    def start(self) -> Phone:
        self.log.unlink(missing_ok=True)
        self._offset = 0
        # pjsua's --log-file is block-buffered: read its console output instead, line-buffered
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                ["stdbuf", "-oL", "-eL", str(self.bundle.pjsua), "--null-audio", "--no-tcp",
                 "--no-color", "--no-vad", "--log-level", "3", "--app-log-level", "3", *self.args],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=self.bundle.env(),
                preexec_fn=die_with_parent)
        return self

    def send(self, text: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(text.encode())
        self.process.stdin.flush()

    def dtmf(self, digits: str) -> None:
        """RFC 4733 digits on the current call."""
        self.send(f"#\n{digits}\n")

    def answer(self) -> None:
        self.send("a\n200\n")

    def hangup(self) -> None:
        self.send("h\n")

    def call(self, uri: str) -> None:
        """Place one more call (the console's ``m``)."""
        self.send(f"m\n{uri}\n")

    def kill(self) -> None:
        """Die without unregistering (a phone unplugged mid-shift)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.send("q\n")
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def poll(self) -> list[tuple[float, str]]:
        """New log lines since the last poll (also parsed into :attr:`states`)."""
        try:
            with open(self.log, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self._offset += end
        now = time.time()
        new = [(now, line) for line in data[:end].decode("utf-8", "replace").splitlines()]
        self._lines.extend(new)
        for at, line in new:
            match = _STATE.search(line)
            if match:
                call, state, gone, code = match.groups()
                self.states.append(CallState(at, int(call), state or gone, int(code or 0),
                                             logged_at(line, at)))
        return new

    def lines(self) -> list[str]:
        self.poll()
        return [line for _, line in self._lines]

    async def wait(self, pattern: str, timeout_s: float = 20.0) -> str:
        """The first log line (ever) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll()
            for _, line in self._lines:
                if regex.search(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"phone {self.name}: no log line matching {pattern!r} "
                                     f"within {timeout_s}s; last lines: {self.lines()[-8:]}")
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"phone {self.name} exited ({self.process.returncode})")
            await asyncio.sleep(0.05)

    async def wait_state(self, state: str, timeout_s: float = 20.0, count: int = 1) -> CallState:
        """The ``count``-th call state ``state`` this phone reached."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll()
            seen = [s for s in self.states if s.state == state]
            if len(seen) >= count:
                return seen[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"phone {self.name}: call state {state} #{count} not reached "
                                     f"within {timeout_s}s; states: {self.states}")
            await asyncio.sleep(0.05)

    def count(self, state: str) -> int:
        self.poll()
        return sum(1 for s in self.states if s.state == state)


def agent_phone(bundle: Bundle, workdir: Path, extension: str, password: str, *, sip_port: int,
                pbx_sip_port: int, rtp_port: int, mode: str = "answer", play: Path | None = None,
                record: Path | None = None, talk_s: float | None = None, max_calls: int = 4) -> Phone:
    """An agent's softphone registering as ``extension``."""
    args = ["--id", f"sip:{extension}@127.0.0.1", "--registrar", f"sip:127.0.0.1:{pbx_sip_port}",
            "--realm", "*", "--username", extension, "--password", password,
            "--bound-addr", "127.0.0.1", "--local-port", str(sip_port), "--rtp-port", str(rtp_port),
            "--auto-answer", MODES[mode], "--max-calls", str(max_calls)]
    if play is not None:
        args += ["--play-file", str(play), "--auto-play"]
    if record is not None:
        args += ["--rec-file", str(record), "--auto-rec"]
    if talk_s is not None:
        args += ["--duration", str(int(talk_s))]
    return Phone(bundle, workdir, extension, args)


def caller_phone(bundle: Bundle, workdir: Path, number: str, *, sip_port: int, rtp_port: int,
                 pbx_sip_port: int, did: str = "4001", play: Path | None = None,
                 record: Path | None = None, dial: bool = True, max_calls: int = 4) -> Phone:
    """A caller on the carrier's side: a SIP phone at the carrier's address calling the DID."""
    args = ["--id", f"sip:{number}@{CARRIER_ADDRESS}", "--bound-addr", CARRIER_ADDRESS,
            "--ip-addr", CARRIER_ADDRESS, "--local-port", str(sip_port), "--rtp-port", str(rtp_port),
            "--max-calls", str(max_calls)]
    if play is not None:
        args += ["--play-file", str(play), "--auto-play"]
    if record is not None:
        args += ["--rec-file", str(record), "--auto-rec"]
    if dial:
        args.append(did_uri(did, pbx_sip_port))
    return Phone(bundle, workdir, f"caller-{number.lstrip('+')}-{sip_port}", args)


def did_uri(did: str, pbx_sip_port: int) -> str:
    return f"sip:{did}@127.0.0.1:{pbx_sip_port}"


def agent_group(bundle: Bundle, workdir: Path, name: str, accounts: list[tuple[str, str]], *,
                sip_port: int, pbx_sip_port: int, rtp_port: int, play: Path | None = None,
                talk_s: float | None = None) -> Phone:
    """Several agents' softphones in one pjsua process (one account each, all answering)."""
    args: list[str] = []
    for n, (extension, password) in enumerate(accounts):
        if n:
            args.append("--next-account")
        args += ["--id", f"sip:{extension}@127.0.0.1", "--registrar", f"sip:127.0.0.1:{pbx_sip_port}",
                 "--realm", "*", "--username", extension, "--password", password]
    args += ["--bound-addr", "127.0.0.1", "--local-port", str(sip_port), "--rtp-port", str(rtp_port),
             "--auto-answer", "200", "--max-calls", str(len(accounts))]
    if play is not None:
        args += ["--play-file", str(play), "--auto-play"]
    if talk_s is not None:
        args += ["--duration", str(int(talk_s))]
    return Phone(bundle, workdir, name, args)
