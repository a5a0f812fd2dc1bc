"""One bad row must never stop a writer: clean values, then isolate what the database refuses.

Every batched writer (call rows, the event log, the IVR journal) writes a batch in one
statement. A value PostgreSQL cannot store (a NUL in text or ``\\u0000`` in jsonb, a lone
surrogate, a number beyond the column) makes the whole statement fail, and retrying the same
batch would fail forever: no more calls saved for as long as the server runs. So:

- :func:`db_text` / :func:`db_json` / :func:`db_int` make values storable before they are sent;
- :func:`write_isolating` writes a batch, and when the database refuses it for its content
  (:data:`ROW_ERRORS`), writes it again in halves until the bad rows are alone; those are
  reported to ``on_reject`` (the writer logs them with their call id and counts them) and
  dropped, the rest is stored. Link errors (server away) are not row errors: they propagate and
  the writer keeps the batch for later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")

# Errors that belong to some row of the batch, not to the link: SQLSTATE classes 22 (data) and
# 23 (integrity), and what asyncpg raises while encoding a value on the client side.
ROW_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError, TypeError,
    OverflowError, UnicodeError,
)

INT32 = (-(2**31), 2**31 - 1)
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def db_text(value: str | None) -> str | None:
    """Text PostgreSQL accepts: NUL and lone surrogates become U+FFFD."""
    if value is None or not _UNSTORABLE.search(value):
        return value
    return _UNSTORABLE.sub("\ufffd", value)


def db_int(value: int | None, low: int = INT32[0], high: int = INT32[1]) -> int | None:
    """An integer the column holds, or None (an out-of-range hang-up cause is no cause)."""
    if value is None or isinstance(value, bool) or not low <= value <= high:
        return None
    return value


def db_clean(value: Any) -> Any:
    """``value`` with every string in it (keys too, nested) made storable."""
    if isinstance(value, str):
        return db_text(value)
    if isinstance(value, dict):
        return {db_clean(str(k)): db_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [db_clean(v) for v in value]
    return value


def db_json(value: Any) -> str:
    """JSON for a jsonb column: no ``\\u0000``, no lone surrogates; unknown types as text."""
    return json.dumps(db_clean(value), default=lambda v: db_text(str(v)))


def stored_object(value: Any) -> dict[str, Any]:
    """A stored JSON object as it is read back (text, or a mapping): a dict, empty when it is
    anything else or does not parse."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


async def write_isolating(rows: Sequence[T], write: Callable[[Sequence[T]], Awaitable[int]],
                          on_reject: Callable[[T, BaseException], None]) -> int:
    """``write(rows)``; on a row error, halves until each refused row is alone.

    Returns what ``write`` returned, summed. Rows refused on their own go to ``on_reject``.

    Raises:
        Anything that is not in :data:`ROW_ERRORS` (the database is away): the caller keeps
        the batch.
    """
    if not rows:
        return 0
    try:
        return await write(rows)
    except ROW_ERRORS as exc:
        if len(rows) == 1:
            on_reject(rows[0], exc)
            return 0
        middle = len(rows) // 2
        return (await write_isolating(rows[:middle], write, on_reject)
                + await write_isolating(rows[middle:], write, on_reject))
