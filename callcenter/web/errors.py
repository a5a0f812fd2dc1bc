"""API errors: a status, a human message and a stable ``error_id`` clients can branch on."""

from __future__ import annotations

import json

from aiohttp import web


def api_error(status: int, message: str, error_id: str, **extra: object) -> web.HTTPException:
    """An HTTP exception whose body is ``{"status", "message", "error_id", ...}``."""
    body = json.dumps({"status": status, "message": message, "error_id": error_id, **extra},
                      ensure_ascii=False)
    cls: type[web.HTTPException] = web.HTTPException
    for candidate in (web.HTTPBadRequest, web.HTTPUnauthorized, web.HTTPForbidden, web.HTTPNotFound,
                      web.HTTPConflict, web.HTTPRequestURITooLong, web.HTTPUnsupportedMediaType,
                      web.HTTPRequestRangeNotSatisfiable, web.HTTPRequestEntityTooLarge,
                      web.HTTPTooManyRequests, web.HTTPServiceUnavailable):
        if candidate.status_code == status:
            cls = candidate
            break
    if cls is web.HTTPRequestEntityTooLarge:  # its constructor wants the sizes
        exc: web.HTTPException = web.HTTPRequestEntityTooLarge(
            max_size=0, text=body, content_type="application/json")
    else:
        exc = cls(text=body, content_type="application/json")
    if cls is web.HTTPException:
        exc.set_status(status)
    return exc
