"""How the IVR reports an error it lives with: counted (the server's ``caught`` counter, by the
log event's name) and described without what a caller typed or said."""

from __future__ import annotations

import re
from collections.abc import Callable

Caught = Callable[[str], None]  # told the log event's name of each error caught and lived with

_DIGITS = re.compile(r"\d{5,}")  # a phone, order or card number a database error may quote


def uncounted(_: str) -> None:
    """For an IVR built without the server's metrics (tests, tools)."""


def describe(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` for a log line, long digit runs masked."""
    return _DIGITS.sub("#####", f"{type(exc).__name__}: {exc}")[:limit]
