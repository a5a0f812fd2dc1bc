"""Phone numbers as the ``customers.phone`` column stores them (pure).

Stored numbers are digits with an optional leading ``+``; callers' numbers arrive in any usual
spelling (``+8613800000001``, ``008613800000001``, ``13800000001``). :func:`phone_candidates`
lists the spellings worth looking up for one caller ID, in the home country's conventions.
"""

from __future__ import annotations

HOME_COUNTRY_CODE = "86"


def normalize(number: str) -> str:
    """Digits with an optional leading ``+`` (``00`` → ``+``); '' when unusable (anonymous)."""
    text = "".join(c for c in number.strip() if c.isascii() and (c.isdigit() or c == "+"))
    if text.startswith("00"):
        text = "+" + text[2:]
    plus = text.startswith("+")
    digits = text.replace("+", "")
    if not 3 <= len(digits) <= 20:
        return ""
    return ("+" if plus else "") + digits


def phone_candidates(number: str, country_code: str = HOME_COUNTRY_CODE) -> list[str]:
    """The stored spellings that mean the same line as ``number``, most literal first."""
    base = normalize(number)
    if not base:
        return []
    out = [base]
    international = f"+{country_code}"
    if base.startswith(international):
        national = base[len(international):]
        out += [base[1:], national, "0" + national]
    elif base.startswith("+"):
        out.append(base[1:])
    else:
        national = base[1:] if base.startswith("0") else base
        out += [international + national, f"{country_code}{national}"]
        if base.startswith("0"):
            out.append(national)
    seen: list[str] = []
    for candidate in out:
        if candidate and len(candidate.lstrip("+")) >= 3 and candidate not in seen:
            seen.append(candidate)
    return seen
