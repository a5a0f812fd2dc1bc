"""Everything the PBX sends is cleaned here, once, before anything else reads it.

A compromised or buggy PBX (or a caller who controls their caller ID name) can put anything in
a header: NUL bytes (PostgreSQL text cannot hold them), lone CR or LF (which would smuggle a
second header into an action built from the value: ``CallerID`` of an Originate), other control
characters, 100 KB values, invalid UTF-8 (already replaced by U+FFFD in the parser) and numbers
beyond any column's range. :func:`sanitize_frame` makes every event safe for every consumer:

- control characters (C0 except tab, DEL, C1) become a space; keys lose them entirely;
- the URL-encoded headers (``Env`` of ``AsyncAGIStart``, ``Result`` of ``AsyncAGIExec``) are
  decoded, cleaned the same way (keeping line feeds: they separate ``Env``'s lines and end every
  AGI ``Result``) and, only when something was removed, encoded again, so ``%00`` cannot slip
  through;
- a value longer than ``max_value_chars`` is cut (``…`` marks the cut);
- the numeric headers the product reads (``Cause``, ``ChannelState``, ``Priority``…) hold ASCII
  digits in their range or nothing: ``Cause: 99999999999`` and ``Cause: ٤`` both become ``""``.

The pure function returns what it changed, so the link can log and count it (metric
``callcenter_ami_sanitized_total``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from callcenter.ami.parser import Frame

MAX_VALUE_CHARS = 4096
MAX_KEY_CHARS = 64
INT32_MAX = 2**31 - 1

# Header -> (low, high): what the product parses as a number.
NUMERIC_HEADERS: dict[str, tuple[int, int]] = {
    "Cause": (0, 65_535),
    "ChannelState": (0, 255),
    "Priority": (0, INT32_MAX),
    "Reason": (0, 255),
    "DurationMs": (0, INT32_MAX),
    "BridgeNumChannels": (0, 100_000),
    "Port": (0, 65_535),
}
URL_ENCODED = frozenset({"Env", "Result"})

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_KEEP_LF = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_KEY_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f:]")
_ASCII_INT = re.compile(r"[0-9]{1,12}")
_RAW_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# An encoded control character other than the line feed (%0A) URL-encoded values end with.
_ENCODED_CONTROL = re.compile(r"%(?:0[0-9b-fB-F]|1[0-9a-fA-F]|7[fF]|[cC]2%[89][0-9a-fA-F])")
MAX_RAW_CHARS = 65_536


@dataclass(frozen=True, slots=True)
class Sanitized:
    """What :func:`sanitize_frame` changed: header names, by kind of change."""

    control: tuple[str, ...] = ()
    truncated: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.control or self.truncated or self.numeric)


_NOTHING = Sanitized()


def clean_text(value: str, *, keep_newlines: bool = False, limit: int = MAX_VALUE_CHARS) -> str:
    """``value`` without control characters (a space instead) and at most ``limit`` chars."""
    pattern = _CONTROL_KEEP_LF if keep_newlines else _CONTROL
    cleaned = pattern.sub(" ", value)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned


def bounded_int(value: str, low: int = 0, high: int = INT32_MAX) -> int | None:
    """ASCII digits within ``[low, high]`` as an int; anything else (Unicode digits, signs,
    too big) is None."""
    if _ASCII_INT.fullmatch(value) is None:
        return None
    number = int(value)
    return number if low <= number <= high else None


def _clean_already(frame: Frame, max_value_chars: int) -> bool:
    """The fast path (most frames): nothing in ``frame`` needs cleaning."""
    raw = frame.raw
    if len(raw) > max_value_chars or _RAW_BAD.search(raw) is not None:
        return False
    crlf = raw.count("\r\n")
    if raw.count("\r") != crlf or raw.count("\n") != crlf:  # a lone CR or LF inside a value
        return False
    if frame.repeated:
        return False
    for key, value in frame.fields.items():
        if key in URL_ENCODED and _ENCODED_CONTROL.search(value) is not None:
            return False
        bounds = NUMERIC_HEADERS.get(key)
        if bounds is not None and value and bounded_int(value, *bounds) is None:
            return False
    return True


@dataclass(slots=True)
class _Changes:
    control: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)


def _clean_pair(key: str, value: str, max_value_chars: int, changes: _Changes) -> tuple[str, str]:
    """One header cleaned: the key's control characters, the value's control characters (also
    URL-encoded ones), its length, and numbers out of range; each change is noted."""
    new_key = key
    if _KEY_BAD.search(key) or len(key) > MAX_KEY_CHARS:
        new_key = _KEY_BAD.sub("", key)[:MAX_KEY_CHARS] or "X-Bad-Key"
        changes.control.append(new_key)
    new = value
    if key in URL_ENCODED and "%" in value:
        decoded = unquote(value)
        cleaned = clean_text(decoded, keep_newlines=True, limit=10**9)
        if cleaned != decoded:
            changes.control.append(key)
            new = quote(cleaned, safe="")
    if _CONTROL.search(new):
        new = _CONTROL.sub(" ", new)
        changes.control.append(key)
    if len(new) > max_value_chars:
        new = new[: max_value_chars - 1] + "…"
        changes.truncated.append(key)
    bounds = NUMERIC_HEADERS.get(key)
    if bounds is not None and new and bounded_int(new, *bounds) is None:
        new = ""
        changes.numeric.append(key)
    return new_key, new


def sanitize_frame(frame: Frame, max_value_chars: int = MAX_VALUE_CHARS) -> Sanitized:
    """Clean ``frame`` in place (fields, repeated headers and ``raw``); says what changed."""
    if _clean_already(frame, max_value_chars):
        return _NOTHING
    changes = _Changes()

    def clean(key: str, value: str) -> tuple[str, str]:
        return _clean_pair(key, value, max_value_chars, changes)

    fields: dict[str, str] = {}
    for key, value in frame.fields.items():
        new_key, new = clean(key, value)
        fields.setdefault(new_key, new)
    repeated = [clean(key, value) for key, value in frame.repeated]
    report = Sanitized(tuple(changes.control), tuple(changes.truncated), tuple(changes.numeric))
    if report:
        frame.fields.clear()
        frame.fields.update(fields)
        frame.repeated[:] = repeated
        frame.raw = "\r\n".join(f"{k}: {v}" for k, v in [*fields.items(), *repeated])
    elif _RAW_BAD.search(frame.raw):  # in a line the parser skipped as malformed
        frame.raw = _RAW_BAD.sub(" ", frame.raw)
    if len(frame.raw) > MAX_RAW_CHARS:
        frame.raw = frame.raw[:MAX_RAW_CHARS - 1] + "…"
    return report
