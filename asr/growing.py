"""Reading a recording that is still being written, a part at a time (seek, never the whole file).

MixMonitor writes a WAV header with its sizes at 0 and fills them in when it closes the file
(some writers update them now and then, so they may also be stale). The audio written so far
is therefore everything from the ``data`` chunk to the end of the file, unless the header
matches the file's length (closed), when it is the declared ``data`` size. Only mono 16-bit
PCM at 8/16 kHz is read this way (what Asterisk writes); anything else (or a header that is
broken, not merely unfinished) raises :class:`UnsupportedTrack` and is transcribed after the
call as before.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from asr.audio import RATES

MAX_CHUNKS = 16  # chunks looked at before ``data``: a header, not a file to walk through


class UnsupportedTrack(ValueError):
    """The file is there but can never be read as it grows: not a mono 16-bit PCM WAV at
    8/16 kHz, or its header is broken (the reason is the message; it names no caller)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a track's samples are: ``data_start`` (byte offset of the first sample), ``rate``,
    and how many whole 16-bit samples are written so far."""

    data_start: int
    rate: int
    samples: int


class TrackSource(Protocol):
    """A track that grows: its layout now, and samples ``[first, last)`` read from it."""

    def layout(self) -> Layout | None: ...

    def samples(self, first: int, last: int) -> np.ndarray: ...


class GrowingWav:
    """A mono 16-bit PCM WAV file that may still be open; counts the bytes it reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bytes_read = 0
        self._layout_now: Layout | None = None

    def layout(self) -> Layout | None:
        """None when the file is missing or its header is not all written yet.

        Raises:
            UnsupportedTrack: the file is not a mono 16-bit PCM WAV at 8/16 kHz, or its header
                is broken.
        """
        try:
            with open(self.path, "rb") as fh:
                self._layout_now = self._layout(fh, os.fstat(fh.fileno()).st_size)
        except (OSError, struct.error):
            self._layout_now = None
        return self._layout_now

    def samples(self, first: int, last: int) -> np.ndarray:
        """Samples ``[first, last)`` of the ``data`` chunk as :meth:`layout` last found it (fewer
        if the file is shorter now)."""
        layout = self._layout_now or self.layout()
        if layout is None or last <= first:
            return np.zeros(0, dtype="<i2")
        try:
            with open(self.path, "rb") as fh:
                fh.seek(layout.data_start + 2 * first)
                raw = self._read(fh, 2 * (last - first))
        except OSError:
            raw = b""
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")

    def _read(self, fh: BinaryIO, size: int) -> bytes:
        raw = fh.read(size)
        self.bytes_read += len(raw)
        return raw

    def _layout(self, fh: BinaryIO, size: int) -> Layout | None:
        head = self._read(fh, 12)
        if len(head) < 12:
            return None  # the header is being written
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise UnsupportedTrack("not a RIFF/WAVE file")
        closed = struct.unpack_from("<I", head, 4)[0] + 8 == size
        offset, fmt = 12, None
        for _ in range(MAX_CHUNKS):
            fh.seek(offset)
            chunk = self._read(fh, 8)
            if len(chunk) < 8:
                return None  # the header is being written
            name, length = chunk[:4], struct.unpack_from("<I", chunk, 4)[0]
            if name == b"fmt ":
                body = self._read(fh, 16)
                if len(body) < 16:
                    return None
                fmt = struct.unpack_from("<HHIIHH", body)
            elif name == b"data":
                if fmt is None:
                    raise UnsupportedTrack("no fmt chunk before the data")
                if fmt[0] != 1 or fmt[1] != 1 or fmt[5] != 16 or fmt[2] not in RATES:
                    raise UnsupportedTrack(f"format {fmt[0]}, {fmt[1]} channel(s), {fmt[5]} bits, "
                                           f"{fmt[2]} Hz: not mono 16-bit PCM at 8/16 kHz")
                start = offset + 8
                written = length if closed and length and start + length <= size else size - start
                return Layout(start, fmt[2], max(0, written) // 2)
            offset += 8 + length + (length & 1)
        raise UnsupportedTrack(f"no data chunk among the first {MAX_CHUNKS} chunks")
