"""AGI results as Asterisk 22 reports them in ``AsyncAGIExec``.

``Result`` is URL-encoded (``200%20result%3D2%0A`` → ``200 result=2``); STREAM FILE adds
``endpos=``; GET DATA on timeout adds ``(timeout)``; a failing command (missing prompt, hangup)
answers ``result=-1`` and AGI ends after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_RESULT = re.compile(r"^(?P<code>[0-9]{3})(?:[ -](?P<rest>.*))?$", re.S)
_KV = re.compile(r"(?P<key>[a-z]+)=(?P<value>\S*)(?:\s*\((?P<data>[^)]*)\))?")
_INT = re.compile(r"-?[0-9]{1,10}")
_INT32 = 2**31 - 1


def _int(value: str) -> int | None:
    """ASCII digits within int32, else None (``٤``, ``99999999999`` are not results)."""
    if _INT.fullmatch(value) is None:
        return None
    number = int(value)
    return number if -_INT32 <= number <= _INT32 else None


@dataclass(frozen=True, slots=True)
class AgiResult:
    """One AGI command's outcome.

    ``result`` is the integer result (``-1`` means the command failed or the caller hung up);
    ``data`` is the parenthesised part (``timeout``); ``endpos`` the playback position.
    """

    code: int
    result: int | None
    data: str = ""
    endpos: int | None = None
    value: str = ""
    raw: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200 and self.result is not None and self.result >= 0

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"

    @property
    def digit(self) -> str:
        """WAIT FOR DIGIT / STREAM FILE return an ASCII code; 0 means none."""
        if self.result is None or self.result <= 0 or self.result > 127:
            return ""
        return chr(self.result)


def parse_agi_result(encoded: str) -> AgiResult:
    """Decode and parse the ``Result`` header of an ``AsyncAGIExec`` event.

    Never raises: an unreadable result comes back with ``code=0`` and ``result=None``.
    """
    text = unquote(encoded).strip()
    match = _RESULT.match(text)
    if match is None:
        return AgiResult(code=0, result=None, raw=text)
    code = int(match["code"])
    result: int | None = None
    value_text = ""
    data = ""
    endpos: int | None = None
    for kv in _KV.finditer(match["rest"] or ""):
        key, value = kv["key"], kv["value"]
        if key == "result":
            value_text = value if value.isascii() else ""
            result = _int(value)
            data = kv["data"] or ""
        elif key == "endpos":
            endpos = _int(value)
    return AgiResult(code=code, result=result, data=data, endpos=endpos, value=value_text, raw=text)


def get_data_digits(result: AgiResult) -> str:
    """GET DATA returns the digits themselves as the result (``result=0123`` → ``"0123"``)."""
    if result.result is None or result.result < 0:
        return ""
    return result.value
