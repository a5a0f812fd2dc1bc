"""Every request is bounded and checked before a handler sees it; malformed input is a 4xx
with the JSON error body, never a 500.

- **Sizes**: a body over the app's ``client_max_size`` is a 413 (also when it arrives chunked,
  without a Content-Length); a query value over :data:`MAX_QUERY_VALUE` characters or more than
  :data:`MAX_QUERY_PARAMS` parameters is a 400.
- **Text**: NUL and lone surrogates (which PostgreSQL cannot store and which no user types) in
  the query, the path or a JSON body are a 400.
- **JSON bodies** of API routes are decoded once here, strictly (UTF-8, no NaN/Infinity),
  with at most :data:`MAX_JSON_DEPTH` levels of nesting and :data:`MAX_JSON_ITEMS` values;
  the handler then reads the same bytes.
- **Errors from the router** (unknown path, wrong method) under ``/api/`` get the JSON body;
  a value the database refuses for its content (``DataError``: out of range, bad encoding) is
  the client's fault, a 400, and is logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from callcenter.web.errors import api_error

log = structlog.get_logger("callcenter.web")

MAX_JSON_DEPTH = 32
MAX_JSON_ITEMS = 100_000
MAX_QUERY_VALUE = 4096
MAX_QUERY_PARAMS = 50
_BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bad_text(value: str) -> bool:
    """True when ``value`` holds a NUL or a lone surrogate."""
    return _BAD_TEXT.search(value) is not None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_json(value: Any) -> str:
    """Why a parsed JSON document is refused ('' when it is fine): depth, size, bad text."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    items = 0
    while stack:
        node, depth = stack.pop()
        items += 1
        if items > MAX_JSON_ITEMS:
            return f"more than {MAX_JSON_ITEMS} values"
        if isinstance(node, str):
            if bad_text(node):
                return "text with a NUL or a lone surrogate"
        elif isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(node, dict):
                for key, child in node.items():
                    if bad_text(key):
                        return "a key with a NUL or a lone surrogate"
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)
    return ""


def _check_request_text(request: web.Request) -> None:
    query = request.query
    if len(query) > MAX_QUERY_PARAMS:
        raise api_error(400, f"at most {MAX_QUERY_PARAMS} query parameters", "bad_parameter")
    for name, value in query.items():
        if len(value) > MAX_QUERY_VALUE or len(name) > 100:
            raise api_error(400, f"query parameter {name[:40]!r} is too long", "bad_parameter",
                            parameter=name[:40])
        if bad_text(name) or bad_text(value):
            raise api_error(400, "the query holds a NUL or invalid text", "bad_parameter")
    for value in request.match_info.values():
        if bad_text(value) or len(value) > 1000:
            raise api_error(404, "not found", "not_found")


async def _check_body(request: web.Request) -> None:
    limit = request.app._client_max_size
    if request.content_length is not None and request.content_length > limit:
        raise api_error(413, f"the body is larger than {limit} bytes", "too_large")
    if request.content_type in _FORMS or not request.body_exists:
        return
    raw = await request.read()  # aiohttp stops a chunked body at client_max_size (413)
    if not raw.strip():
        return
    try:
        text = raw.decode("utf-8")
        document = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise api_error(400, "the body must be JSON (UTF-8)", "bad_json") from None
    problem = check_json(document)
    if problem:
        raise api_error(400, f"the body is refused: {problem}", "bad_json")


@web.middleware
async def input_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    api = request.path.startswith("/api/")
    try:
        _check_request_text(request)
        if request.method in _BODY_METHODS and (api or request.path in ("/login", "/logout")):
            await _check_body(request)
        return await handler(request)
    except web.HTTPRequestEntityTooLarge as exc:
        if exc.content_type == "application/json":
            raise
        raise api_error(413, "the body is too large", "too_large") from None
    except web.HTTPException as exc:
        if not api or exc.content_type == "application/json" or exc.status < 400:
            raise
        converted = api_error(exc.status, exc.reason, _ERROR_IDS.get(exc.status, "http_error"))
        for header in ("Allow", "Retry-After"):
            if header in exc.headers:
                converted.headers[header] = exc.headers[header]
        raise converted from None
    except (asyncpg.DataError, RecursionError) as exc:
        log.warning("request_value_refused", path=request.path, method=request.method,
                    error=f"{type(exc).__name__}: {exc}"[:300])
        raise api_error(400, "a value in the request is out of range or not valid text",
                        "bad_value") from None


_ERROR_IDS = {404: "not_found", 405: "method_not_allowed", 413: "too_large",
              414: "too_long", 415: "unsupported_media_type", 416: "range_not_satisfiable"}
