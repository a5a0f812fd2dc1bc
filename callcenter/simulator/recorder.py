"""MixMonitor: real WAV files (8 kHz, 16-bit mono) rendered from the audio history.

``File`` gets both directions mixed; the ``r(path)`` option gets what is read from the channel
(what that channel's party says), ``t(path)`` what is written to it (what the party hears).
A muted direction records silence but the files keep their length, as Asterisk's do. As on
Asterisk, the files grow while the recording goes on (:meth:`Recorders.flush`, every
``FLUSH_S``): the audio so far is appended after a header whose sizes are written at the close,
when the rest is appended (a file is written once, front to back, never rendered again).
"""

from __future__ import annotations

import logging
import os
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from callcenter.simulator.audio import AudioLog, mix, render
from callcenter.simulator.sounds import RATE

log = logging.getLogger("callcenter.simulator")

ASTERISK_MONITOR_DIR = PurePosixPath("/var/spool/asterisk/monitor")
_OPTION = re.compile(r"([rt])\(([^)]*)\)")
# Asterisk's recording thread closes the files (and writes the WAV sizes) a moment after the
# recorded channel hangs up or StopMixMonitor: this long, in simulated seconds.
CLOSE_DELAY_S = 0.05
FLUSH_S = 1.0  # simulated seconds between writes of a growing recording


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """A MixMonitor as tests and tools see it (paths are where the files are on disk)."""

    channel: str
    file: Path | None
    read_file: Path | None
    write_file: Path | None
    started_at: float
    stopped_at: float | None
    muted: tuple[tuple[str, float, float | None], ...]


def resolve(given: str, recording_dir: Path) -> Path:
    """Where a MixMonitor path lands on disk.

    Relative paths go under ``recording_dir``; absolute paths under Asterisk's monitor folder
    (``/var/spool/asterisk/monitor``, what the product sends) are moved under it too, so the
    simulator never needs root; other absolute paths are used as given.
    """
    path = PurePosixPath(given)
    if not path.is_absolute():
        return recording_dir / path
    if path.is_relative_to(ASTERISK_MONITOR_DIR):
        return recording_dir / path.relative_to(ASTERISK_MONITOR_DIR)
    return Path(given)


def parse_options(options: str) -> dict[str, str]:
    """``r(/a.wav)t(/b.wav)`` → ``{"r": "/a.wav", "t": "/b.wav"}``."""
    return {flag: value for flag, value in _OPTION.findall(options) if value}


@dataclass(eq=False)
class MixMonitor:
    channel: str
    file: Path | None
    read_file: Path | None
    write_file: Path | None
    started_at: float
    stopped_at: float | None = None
    mutes: dict[str, list[list[float | None]]] = field(
        default_factory=lambda: {"read": [], "write": []})
    written: int = 0  # samples appended to the open files so far

    def mute(self, direction: str, on: bool, at: float) -> None:
        for side in ("read", "write") if direction == "both" else (direction,):
            spans = self.mutes[side]
            if on and not (spans and spans[-1][1] is None):
                spans.append([at, None])
            elif not on and spans and spans[-1][1] is None:
                spans[-1][1] = at

    def info(self) -> RecordingInfo:
        muted = tuple((side, float(s[0] or 0.0), s[1]) for side, spans in self.mutes.items()
                      for s in spans)
        return RecordingInfo(self.channel, self.file, self.read_file, self.write_file,
                             self.started_at, self.stopped_at, muted)

    def paths(self) -> list[Path]:
        return [p for p in (self.file, self.read_file, self.write_file) if p is not None]

    def open_files(self) -> None:
        """As Asterisk does at the start: the files exist with a header whose sizes are not
        written yet (they are filled in when the file is closed)."""
        for path in self.paths():
            write_open_header(path)

    def flush(self, now: float, audio: AudioLog) -> None:
        """Append the audio from what is written so far up to ``now`` to the open files."""
        if self.stopped_at is not None:
            return
        start = self.started_at + self.written / RATE
        if now - start < 1.0 / RATE:
            return
        read_pieces, write_pieces = audio.heard_by(self.channel, start, now)
        read = render(start, now, read_pieces, self._spans("read", now))
        written = render(start, now, write_pieces, self._spans("write", now))
        for path, samples in ((self.file, mix(read, written)), (self.read_file, read),
                              (self.write_file, written)):
            if path is not None:
                append_samples(path, samples)
        self.written += len(read)

    def stop(self, at: float, audio: AudioLog) -> Callable[[], None]:
        """Render the audio not appended yet (from the last flush to ``at``); returns what closes
        the files, which Asterisk's recording thread does a moment after the stop: the rest is
        appended and the header's sizes written. A file is never written again from the start,
        so it holds exactly the samples a reader saw it grow with."""
        if self.stopped_at is not None:
            return lambda: None
        self.stopped_at = at
        start = self.started_at + self.written / RATE
        read_pieces, write_pieces = audio.heard_by(self.channel, start, at)
        read = render(start, at, read_pieces, self._spans("read", at))
        written = render(start, at, write_pieces, self._spans("write", at))
        files = [(path, samples) for path, samples in ((self.file, mix(read, written)),
                                                       (self.read_file, read), (self.write_file, written))
                 if path is not None]

        def close() -> None:
            for path, samples in files:
                close_wav(path, samples)

        return close

    def _spans(self, side: str, stop: float) -> list[tuple[float, float]]:
        return [(float(s[0] or 0.0), float(s[1] if s[1] is not None else stop))
                for s in self.mutes[side]]


FILE_MODE = 0o640  # recordings are personal data: owner and group (the server), nobody else
DIR_MODE = 0o750


def make_dirs(folder: Path) -> None:
    """``folder`` and any missing parents, each ``DIR_MODE`` whatever the umask."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(created, DIR_MODE)


def append_samples(path: Path, samples: array[int]) -> None:
    """Append to a file still open (its header's sizes not written yet). A file removed while
    it is recorded is not made again (Asterisk goes on writing to the removed file)."""
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND), "ab") as raw:
            raw.write(samples.tobytes())
    except OSError as exc:
        log.error("mixmonitor cannot write %s: %s", path, exc.strerror)


HEADER_BYTES = 44  # what write_open_header writes: RIFF, fmt and the data chunk's header


def close_wav(path: Path, samples: array[int]) -> None:
    """Append the last samples to a file still open and write its header's sizes."""
    append_samples(path, samples)
    try:
        with os.fdopen(os.open(path, os.O_RDWR), "r+b") as raw:
            head = raw.read(HEADER_BYTES)
            size = os.fstat(raw.fileno()).st_size
            if len(head) < HEADER_BYTES or head[:4] != b"RIFF" or head[36:40] != b"data":
                log.error("mixmonitor cannot close %s: its header is not the one it wrote", path)
                return
            raw.seek(4)
            raw.write((size - 8).to_bytes(4, "little"))
            raw.seek(40)
            raw.write((size - HEADER_BYTES).to_bytes(4, "little"))
    except OSError as exc:
        log.error("mixmonitor cannot close %s: %s", path, exc.strerror)


def write_open_header(path: Path) -> None:
    """A WAV file as a writer leaves it before closing: RIFF and data sizes still 0."""
    header = (b"RIFF" + (0).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
              + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + RATE.to_bytes(4, "little")
              + (RATE * 2).to_bytes(4, "little") + (2).to_bytes(2, "little")
              + (16).to_bytes(2, "little") + b"data" + (0).to_bytes(4, "little"))
    try:
        make_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as raw:
            raw.write(header)
    except OSError as exc:
        log.error("mixmonitor cannot write %s: %s", path, exc.strerror)


class Recorders:
    """Every MixMonitor of the simulator, active and finished."""

    def __init__(self, recording_dir: Path, audio: AudioLog) -> None:
        self.recording_dir = recording_dir
        self.audio = audio
        self.all: list[MixMonitor] = []
        self.closing = 0  # files stopped but not closed yet
        self.growing = False  # a timer appends the active recordings' audio to their files

    def start(self, channel: str, file: str, options: str, at: float) -> MixMonitor:
        flags = parse_options(options)
        monitor = MixMonitor(
            channel, resolve(file, self.recording_dir) if file else None,
            resolve(flags["r"], self.recording_dir) if "r" in flags else None,
            resolve(flags["t"], self.recording_dir) if "t" in flags else None, at)
        self.all.append(monitor)
        monitor.open_files()
        return monitor

    def flush(self, now: float) -> bool:
        """Append what every active recording has recorded up to ``now``; False when none is active."""
        active = [m for m in self.all if m.stopped_at is None]
        for monitor in active:
            monitor.flush(now, self.audio)
        return bool(active)

    def active(self, channel: str) -> list[MixMonitor]:
        return [m for m in self.all if m.channel == channel and m.stopped_at is None]

    def stop(self, channel: str, at: float, later: Callable[[float, Callable[[], None]], object] | None = None
             ) -> int:
        """Stop the channel's recordings; their files are closed ``CLOSE_DELAY_S`` later through
        ``later(delay, callback)`` (at once without it)."""
        stopped = 0
        for monitor in self.active(channel):
            close = monitor.stop(at, self.audio)
            if later is None:
                close()
            else:
                self.closing += 1

                def closed(close: Callable[[], None] = close) -> None:
                    self.closing -= 1
                    close()

                later(CLOSE_DELAY_S, closed)
            stopped += 1
        self.prune(at)
        return stopped

    def stop_all(self, at: float) -> None:
        for monitor in self.all:
            monitor.stop(at, self.audio)()

    def prune(self, now: float) -> None:
        """Forget audio no active recording can still need."""
        starts = [m.started_at for m in self.all if m.stopped_at is None]
        self.audio.prune(min(starts) if starts else now)
        if len(self.all) > 10_000:
            self.all = [m for m in self.all if m.stopped_at is None] + self.all[-5_000:]
