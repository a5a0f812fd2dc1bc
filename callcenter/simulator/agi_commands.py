"""AGI command text: parsing and the result lines Asterisk 22 sends (pure functions).

``AsyncAGIExec``'s ``Result`` is the AGI result line URL-encoded (``200 result=0 endpos=11234\\n``
→ ``200%20result%3D0%20endpos%3D11234%0A``); ``AGIExecEnd`` carries Asterisk's own verdict
(``ResultCode: 200``/``Result: Success``, ``-1``/``Failure`` when the AGI must end).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

# Commands the simulator knows, longest first so "WAIT FOR DIGIT" wins over a shorter match.
COMMANDS = ("ASYNCAGI BREAK", "WAIT FOR DIGIT", "STREAM FILE", "GET DATA", "SAY DIGITS",
            "SET VARIABLE", "GET VARIABLE", "ANSWER", "EXEC", "HANGUP", "NOOP", "VERBOSE")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a command ended: the line for the client and Asterisk's verdict for AGIExecEnd.

    ``ends``: the AGISTATUS when this ends the AsyncAGI (``FAILURE``, ``HANGUP``, ``SUCCESS``).
    """

    line: str
    code: int = 200
    verdict: str = "Success"
    ends: str = ""


def ok(result: str, extra: str = "") -> Outcome:
    return Outcome(f"200 result={result}{extra}\n")


def failed(line: str) -> Outcome:
    """A failing command (missing prompt): AGI ends and the dialplan goes on."""
    return Outcome(line, -1, "Failure", "FAILURE")


INVALID = Outcome("510 Invalid or unknown command\n", 510, "Invalid or unknown command")


def usage(command: str, text: str) -> Outcome:
    return Outcome(f"520-Invalid command syntax.  Proper usage follows:\nUsage: {command} {text}\n"
                   "520 End of proper usage.\n", 520, "Usage")


# res_agi URI-encodes with ast_uri_http: RFC 3986's unreserved characters and the marks
# !*'() stay as they are (a GET DATA ending on * reports "result=*", the real PBX's
# hostile_dtmf capture; "(timeout)" likewise)
URI_SAFE = "!*'()"


def encode(line: str) -> str:
    return quote(line, safe=URI_SAFE)


def split_args(text: str) -> list[str]:
    """Split like Asterisk's AGI parser: blanks separate, double quotes group, ``\\`` escapes.

    ``STREAM FILE hello-world ""`` → ``["STREAM", "FILE", "hello-world", ""]``.
    """
    args: list[str] = []
    current: list[str] = []
    quoted = escaped = started = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = started = True
        elif char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        args.append("".join(current))
    return args


def match(args: list[str]) -> tuple[str, list[str]]:
    """``(command name, its arguments)``; the name is ``""`` for an unknown command."""
    upper = [a.upper() for a in args]
    for name in COMMANDS:
        words = name.split(" ")
        if upper[: len(words)] == words:
            return name, args[len(words):]
    return "", args


def int_arg(args: list[str], index: int, default: int) -> int | None:
    """An optional integer argument; None when present but not a number."""
    if len(args) <= index or args[index] == "":
        return default
    try:
        return int(args[index])
    except ValueError:
        return None
