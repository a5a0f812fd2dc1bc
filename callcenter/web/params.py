"""Query parameters, path ids and JSON bodies, parsed one way by every API: a value that is not
what the route declares is a 400 that names the parameter (a 404 for a path id).

Python's ``int()`` accepts far more than an id: Unicode digits (``٤`` is 4), signs, spaces and
underscores (``4_0`` is 40). An id that reaches the database and the audit log in another
spelling than the canonical one lets a request play recording 4 while the audit says
``recording:٤``. Here an id is ASCII digits only, within PostgreSQL's ``bigint``; anything else
is "no such object" (404) for a path id and a 400 for a query parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

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


def query_float(request: web.Request, name: str, default: float | None, low: float,
                high: float) -> float | None:
    """A number query parameter within ``[low, high]``; ``default`` when absent or empty.

    Raises:
        web.HTTPBadRequest: not a number, or out of range.
    """
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise api_error(400, f"{name} must be a number", "bad_parameter", parameter=name) from None
    if not low <= value <= high:
        raise api_error(400, f"{name} must be between {low:g} and {high:g}", "bad_parameter",
                        parameter=name)
    return value


def query_time(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 time with a time zone, or None when absent or empty.

    Raises:
        web.HTTPBadRequest: not ISO 8601, or without a time zone.
    """
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise api_error(400, f"{name} must be an ISO 8601 time", "bad_parameter", parameter=name) from None
    if value.tzinfo is None:
        raise api_error(400, f"{name} needs a time zone (e.g. Z or +08:00)", "bad_parameter",
                        parameter=name)
    return value


def query_choice(request: web.Request, name: str, allowed: Iterable[str]) -> str | None:
    """One of ``allowed``, or None when absent or empty.

    Raises:
        web.HTTPBadRequest: any other value (the message lists the allowed ones).
    """
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    choices = tuple(allowed)
    if raw not in choices:
        raise api_error(400, f"{name} must be one of {', '.join(choices)}", "bad_parameter",
                        parameter=name)
    return raw


def query_text(request: web.Request, name: str, max_length: int) -> str:
    """Free text of at most ``max_length`` characters ('' when absent).

    Raises:
        web.HTTPBadRequest: longer, or holding a NUL.
    """
    value = request.query.get(name, "")
    if len(value) > max_length or "\x00" in value:
        raise api_error(400, f"{name} is too long or invalid", "bad_parameter", parameter=name)
    return value


async def json_object(request: web.Request, error_id: str = "bad_json", max_bytes: int | None = None
                      ) -> dict[str, Any]:
    """The request's body as a JSON object.

    Raises:
        web.HTTPException: 413 over ``max_bytes``; 400 (``error_id``) not JSON or not an object.
    """
    if max_bytes is not None and request.content_length is not None and request.content_length > max_bytes:
        raise api_error(413, "the body is too large", "too_large")
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise api_error(400, "the body must be JSON", error_id) from None
    if not isinstance(body, dict):
        raise api_error(400, "the body must be a JSON object", error_id)
    return body


def query_flag(request: web.Request, name: str) -> bool:
    """A yes/no query parameter: ``1`` or ``true`` is yes, anything else (or nothing) no."""
    return request.query.get(name) in ("1", "true")
