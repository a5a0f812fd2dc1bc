"""Log-in, sessions, CSRF, roles and security headers for every page and API call.

- The session cookie is HttpOnly, SameSite=Strict, and Secure when the request came over TLS
  (directly or, behind a trusted proxy, ``X-Forwarded-Proto: https``).
- Every state-changing request (POST/PUT/PATCH/DELETE) needs the session's CSRF token in the
  ``X-CSRF-Token`` header (the pages send it with ``fetch``); the log-in form itself is
  protected by a double-submit cookie, since there is no session yet.
- Failed log-ins are throttled per client address and per login, and audited; the check and
  the count are one step, before the password hash.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from callcenter.store.users import Session
from callcenter.web.errors import api_error
from callcenter.web.keys import SESSION, TRUST_PROXY

SESSION_COOKIE = "cc_session"
LOGIN_CSRF_COOKIE = "cc_login_csrf"
CURRENT_SESSION = web.RequestKey("session", Session)
SESSIONLESS_PREFIXES = ("/static/",)
SESSIONLESS_PATHS = frozenset({"/healthz", "/metrics", "/favicon.ico"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def remote_of(request: web.Request) -> str:
    """The client's address: the peer's, or behind a trusted proxy (``http.trust_proxy``) the
    last address of ``X-Forwarded-For`` (the one the proxy itself saw). Never a header the
    client controls when the proxy is not trusted."""
    peer = request.remote or ""
    if not request.app.get(TRUST_PROXY, False):
        return peer
    forwarded = request.headers.get("X-Forwarded-For", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return peer
    try:
        return str(ipaddress.ip_address(hops[-1]))
    except ValueError:
        return peer


def throttle_address(address: str) -> str:
    """The throttle's key for an address: IPv6 clients by /64 (one host owns a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)


def is_tls(request: web.Request) -> bool:
    if request.secure:
        return True
    return request.app.get(TRUST_PROXY, False) and request.headers.get("X-Forwarded-Proto") == "https"


def current_session(request: web.Request) -> Session | None:
    return request.get(CURRENT_SESSION)


def require(request: web.Request, *roles: str) -> Session:
    """The request's session if its user has one of ``roles``.

    Raises:
        web.HTTPException: 401 without a session, 403 with the wrong role.
    """
    session = current_session(request)
    if session is None:
        raise api_error(401, "log in first", "not_logged_in")
    if roles and session.user.role not in roles:
        raise api_error(403, "your role may not do this", "forbidden")
    return session


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _headers(response)
        raise
    _headers(response)
    return response


def _headers(response: web.StreamResponse) -> None:
    h = response.headers
    h.setdefault("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
                 "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                 "form-action 'self'")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cache-Control", "no-store")


def needs_session(path: str) -> bool:
    """False for what anyone may fetch without a session lookup: the static files, the icon,
    ``/healthz`` and ``/metrics`` (they must answer while the database is down)."""
    return not (path.startswith(SESSIONLESS_PREFIXES) or path in SESSIONLESS_PATHS)


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not needs_session(request.path):
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        session = await request.app[SESSION].session(token)
        if session is not None:
            request[CURRENT_SESSION] = session
    if request.method in UNSAFE_METHODS and request.path != "/login":
        _check_csrf(request)
    return await handler(request)


def _check_csrf(request: web.Request) -> None:
    session = current_session(request)
    if session is None:
        return  # the handler answers 401; nothing to forge without a session
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent or not secrets.compare_digest(sent.encode("utf-8", "replace"),
                                              session.csrf_token.encode("utf-8")):
        raise api_error(403, "missing or wrong CSRF token", "csrf_failed")


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict",
                        secure=is_tls(request), path="/", max_age=12 * 3600)


def new_login_csrf(request: web.Request, response: web.StreamResponse) -> str:
    token = secrets.token_urlsafe(32)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                        secure=is_tls(request), path="/login", max_age=3600)
    return token


def check_login_csrf(request: web.Request, sent: str) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not sent or not secrets.compare_digest(cookie.encode("utf-8", "replace"),
                                                            sent.encode("utf-8", "replace")):
        raise api_error(403, "missing or wrong CSRF token: reload the log-in page", "csrf_failed")


def same_origin(request: web.Request) -> bool:
    """A WebSocket opened from our own pages (or by a client that is not a browser)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser page: cookies are not sent cross-site without one
    host = request.headers.get("Host", "")
    return origin.split("://", 1)[-1] == host
