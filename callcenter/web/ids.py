"""Ids and integers from a request, parsed one way everywhere.

Python's ``int()`` accepts far more than an id: Unicode digits (``٤`` is 4), signs, spaces and
underscores (``4_0`` is 40). An id that reaches the database and the audit log in another
spelling than the canonical one lets a request play recording 4 while the audit says
``recording:٤``. Here an id is ASCII digits only, within PostgreSQL's ``bigint``; anything else
is "no such object" (404) for a path id and a 400 for a query parameter.
"""

from __future__ import annotations

import re

from aiohttp import web

from callcenter.web.errors import api_error

BIGINT_MAX = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_SIGNED = re.compile(r"-?[0-9]{1,19}")


def parse_id(text: str) -> int | None:
    """A positive bigint id from ASCII digits, else None."""
    if _DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if 0 < value <= BIGINT_MAX else None


def path_id(request: web.Request, name: str, message: str = "not found") -> int:
    """The path parameter ``name`` as an id.

    Raises:
        web.HTTPNotFound: anything that is not a canonical id (the JSON error body).
    """
    value = parse_id(request.match_info.get(name, ""))
    if value is None:
        raise api_error(404, message, "not_found")
    return value


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]`` (ASCII digits, optional minus).

    Raises:
        web.HTTPBadRequest: not an integer, or out of range.
    """
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if _SIGNED.fullmatch(raw) is None:
        raise api_error(400, f"{name} must be an integer", "bad_parameter", parameter=name)
    value = int(raw)
    if not low <= value <= high:
        raise api_error(400, f"{name} must be between {low} and {high}", "bad_parameter",
                        parameter=name)
    return value
