"""Pure AMI framing: bytes in, frames out, leftover bytes kept.

Frames are split on the blank line (``\\r\\n\\r\\n``) while still bytes, so a UTF-8 character cut
across two TCP reads is joined before it is decoded. Bad input never raises: a frame that cannot
be used comes out as a :class:`BadFrame` saying why, and the parser goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TERMINATOR = b"\r\n\r\n"
BANNER_PREFIX = b"Asterisk Call Manager/"


@dataclass(slots=True)
class Frame:
    """One AMI message: its headers in arrival order (first value wins on repeats)."""

    fields: dict[str, str]
    raw: str
    repeated: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str = "") -> str:
        """Header value by name; falls back to a case-insensitive match (``CommandId``)."""
        value = self.fields.get(key)
        if value is not None:
            return value
        lower = key.lower()
        for name, found in self.fields.items():
            if name.lower() == lower:
                return found
        return default

    def values(self, key: str) -> list[str]:
        """Every value of a header that may repeat (``Variable``, ``ChanVariable``)."""
        first = self.fields.get(key)
        found = [] if first is None else [first]
        found.extend(v for k, v in self.repeated if k == key)
        return found

    @property
    def event(self) -> str:
        return self.fields.get("Event", "")

    @property
    def response(self) -> str:
        return self.fields.get("Response", "")


@dataclass(frozen=True, slots=True)
class Banner:
    version: str


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Input that was skipped, with the reason (the text is cut short for logs)."""

    reason: str
    excerpt: str


Parsed = Frame | Banner | BadFrame


def parse_frame(text: str, kinds: tuple[str, ...] = ("Event", "Response")) -> Frame | BadFrame:
    """Parse one frame's text (without the terminating blank line).

    ``kinds``: the headers of which at least one must be present (``("Action",)`` to parse
    what a client sent).
    """
    fields: dict[str, str] = {}
    repeated: list[tuple[str, str]] = []
    bad_lines = 0
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") and ":" not in line[:-1]:
                key, value = line[:-1], ""
            else:
                bad_lines += 1
                continue
        if key in fields:
            repeated.append((key, value))
        else:
            fields[key] = value
    if not any(kind in fields for kind in kinds):
        return BadFrame(f"frame has no {' or '.join(kinds)} header", text[:120])
    frame = Frame(fields, text, repeated)
    if bad_lines:
        fields.setdefault("X-Malformed-Lines", str(bad_lines))
    return frame


class FrameParser:
    """Incremental parser: feed it bytes as they arrive, get frames back.

    Args:
        max_frame_bytes: a frame longer than this is dropped (reported as a BadFrame) and
            the stream resynchronises on the next blank line.
    """

    def __init__(self, max_frame_bytes: int = 1_048_576,
                 kinds: tuple[str, ...] = ("Event", "Response")) -> None:
        self._kinds = kinds
        self._buffer = b""
        self._max = max_frame_bytes
        self._banner_seen = False
        self._skipping = False

    def feed(self, data: bytes) -> list[Parsed]:
        buffer = self._buffer + data if self._buffer else data
        out: list[Parsed] = []
        if not self._banner_seen:
            buffer = self._take_banner(buffer, out)
            if not self._banner_seen:
                self._buffer = buffer
                return out
        start = 0
        while True:
            end = buffer.find(TERMINATOR, start)
            if end < 0:
                break
            chunk = buffer[start:end]
            start = end + 4
            if self._skipping:
                self._skipping = False
                continue
            if len(chunk) > self._max:
                out.append(BadFrame(f"frame of {len(chunk)} bytes exceeds {self._max}", ""))
                continue
            if not chunk.strip():
                continue
            out.append(self._decode(chunk))
        rest = buffer[start:]
        if len(rest) > self._max:
            if not self._skipping:
                out.append(BadFrame(f"frame exceeds {self._max} bytes; skipped to next frame", ""))
            self._skipping = True
            # Keep only the tail that could hold the start of a terminator.
            rest = rest[-3:]
        self._buffer = rest
        return out

    def _take_banner(self, buffer: bytes, out: list[Parsed]) -> bytes:
        if len(buffer) < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(buffer):
            return buffer
        if not buffer.startswith(BANNER_PREFIX):
            self._banner_seen = True  # no banner (e.g. mid-stream capture): parse frames
            return buffer
        eol = buffer.find(b"\r\n")
        if eol < 0:
            return buffer
        version = buffer[len(BANNER_PREFIX):eol].decode("ascii", "replace").strip()
        out.append(Banner(version))
        self._banner_seen = True
        return buffer[eol + 2:]

    def _decode(self, chunk: bytes) -> Frame | BadFrame:
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            parsed = parse_frame(chunk.decode("utf-8", "replace").lstrip("\r\n"), self._kinds)
            if isinstance(parsed, Frame):
                parsed.fields.setdefault("X-Invalid-UTF8", "1")
            return parsed
        if text[:1] in ("\r", "\n"):
            text = text.lstrip("\r\n")
        return parse_frame(text, self._kinds)
