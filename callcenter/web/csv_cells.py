"""CSV cells that a spreadsheet will not run as formulas.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or a line feed,
or the full-width ``＝ ＋ － ＠`` some spreadsheets also accept) is read as a formula by Excel,
LibreOffice and Google Sheets: an agent name or a caller ID name like ``=HYPERLINK(…)`` would
run on the supervisor's machine. Such cells get a leading ``'`` (OWASP's advice). Numbers are
written as numbers, untouched.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> Any:
    """``value`` ready for ``csv.writer``: None as '', risky text neutralised, numbers kept."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
