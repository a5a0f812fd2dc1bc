"""A database that fails answers every request the same way: a 503 with a stable ``error_id``.

Handlers do not catch database errors; this middleware maps them, logged with the path:

==================  ===================================================================
``error_id``        raised as
==================  ===================================================================
``db_unavailable``  the link: :class:`~callcenter.store.errors.DatabaseUnavailable`,
                    ``asyncpg.InterfaceError`` (connection closed, pool closing), a
                    connection-class SQLSTATE (08, 57P), or an ``OSError`` reaching the server
``db_error``        any other ``asyncpg.PostgresError`` (the statement failed)
==================  ===================================================================

A value the database refuses for its content (``asyncpg.DataError``) is the client's fault:
:mod:`callcenter.web.guard` answers it with a 400 before it gets here.
"""

from __future__ import annotations

import json

import asyncpg
import structlog
from aiohttp import web

from callcenter.store.errors import DatabaseUnavailable
from callcenter.web.auth import Handler

log = structlog.get_logger("callcenter.web")

MESSAGE = "database unavailable"
_LINK_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError, asyncpg.OperatorInterventionError, OSError)
# a browser that went away is not the database
_CLIENT_GONE: tuple[type[BaseException], ...] = (ConnectionResetError, BrokenPipeError)


def error_id_of(exc: BaseException) -> str | None:
    """The stable ``error_id`` of a database error; None for anything else."""
    if isinstance(exc, _CLIENT_GONE):
        return None
    if isinstance(exc, _LINK_ERRORS):
        return "db_unavailable"
    if isinstance(exc, asyncpg.PostgresError):
        return "db_error"
    return None


def unavailable(error_id: str) -> web.Response:
    body = {"status": 503, "error": MESSAGE, "message": MESSAGE, "error_id": error_id}
    return web.Response(status=503, text=json.dumps(body), content_type="application/json",
                        headers={"Retry-After": "5"})


@web.middleware
async def database_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, DatabaseUnavailable, OSError) as exc:
        error_id = error_id_of(exc)
        if error_id is None:
            raise
        log.warning("database_error", path=request.path, method=request.method, error_id=error_id,
                    error=f"{type(exc).__name__}: {exc}"[:300])
        return unavailable(error_id)
