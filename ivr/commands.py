"""AGI command lines and what their results mean (pure).

Asterisk splits an AGI command like a shell: blanks separate arguments, double quotes group,
a backslash escapes. Every argument built here from data goes through :func:`quote`, and the
names that cannot be quoted safely (prompts, dial strings) are checked by the flow loader.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from callcenter.ami.agi import AgiResult

_PLAIN = re.compile(r"^[A-Za-z0-9_@./,:&+=*#-]+$")
_DTMF = re.compile(r"^[0-9*#A-D]*$")


def quote(arg: str) -> str:
    """One AGI argument: as is when it is plain, else in double quotes with ``"`` and ``\\`` escaped."""
    if arg and _PLAIN.match(arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def answer() -> str:
    return "ANSWER"


def stream_file(prompt: str, escape_digits: str = "") -> str:
    return f"STREAM FILE {quote(prompt)} {quote(escape_digits) if escape_digits else chr(34) * 2}"


def get_data(prompt: str, timeout_ms: int, max_digits: int) -> str:
    return f"GET DATA {quote(prompt)} {timeout_ms} {max_digits}"


def set_variable(name: str, value: str) -> str:
    return f"SET VARIABLE {quote(name)} {quote(value)}"


def get_variable(name: str) -> str:
    return f"GET VARIABLE {quote(name)}"


def exec_app(application: str, args: str = "") -> str:
    return f"EXEC {application} {quote(args)}" if args else f"EXEC {application}"


def record_file(path: str, fmt: str, escape_digits: str, timeout_ms: int, beep: bool,
                silence_s: int) -> str:
    """``RECORD FILE``; the sample offset (0) must come before ``BEEP`` and ``s=``."""
    parts = ["RECORD FILE", quote(path), fmt, quote(escape_digits) if escape_digits else '""',
             str(timeout_ms), "0"]
    if beep:
        parts.append("BEEP")
    if silence_s > 0:
        parts.append(f"s={silence_s}")
    return " ".join(parts)


def hangup() -> str:
    return "HANGUP"


def asyncagi_break() -> str:
    return "ASYNCAGI BREAK"


def get_data_digits(result: AgiResult) -> str:
    """GET DATA's digits (``result=0123`` → ``"0123"``, ``result= (timeout)`` → ``""``).

    Unlike the integer ``result``, this keeps leading zeros and ``*``; anything that is not DTMF
    is dropped rather than trusted.
    """
    value = result.value
    if value == "-1":
        return ""
    return value if _DTMF.match(value) else "".join(c for c in value if c in "0123456789*#ABCD")


def interrupted_by(result: AgiResult) -> str:
    """The digit that cut a ``STREAM FILE`` short (its ASCII code is the result), or ''."""
    code = result.result
    if code is None or code <= 0 or code > 127:
        return ""
    char = chr(code)
    return char if char in "0123456789*#ABCD" else ""


def parse_env(encoded: str) -> dict[str, str]:
    """``AsyncAGIStart``'s URL-encoded ``Env`` (``agi_callerid: 138…`` lines) as a dict."""
    out: dict[str, str] = {}
    for line in unquote(encoded).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("agi_"):
            out[key.strip()] = value.strip()
    return out
