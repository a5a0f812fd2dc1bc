"""Log-in, sessions, CSRF, roles and security headers for every page and API call.

- The session cookie is HttpOnly, SameSite=Strict, and Secure when the request came over TLS
  (directly or, behind a trusted proxy, ``X-Forwarded-Proto: https``).
- Every state-changing request (POST/PUT/PATCH/DELETE) needs the session's CSRF token in the
  ``X-CSRF-Token`` header (the pages send it with ``fetch``); the log-in form itself is
  protected by a double-submit cookie, since there is no session yet.
- Failed log-ins are throttled per remote address and per login, and audited.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from callcenter.web.errors import api_error
from callcenter.web.users import Session, UserStore

SESSION_COOKIE = "cc_session"
LOGIN_CSRF_COOKIE = "cc_login_csrf"
SESSION = web.AppKey("sessions", UserStore)
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
TRUST_PROXY = web.AppKey("trust_proxy", bool)
CURRENT_SESSION = web.RequestKey("session", Session)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoginThrottle:
    """At most ``max_failures`` failed log-ins per key (address, login) within ``window_s``."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_failures
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        now = self._clock()
        wait = 0.0
        for key in keys:
            times = self._failures.get(key)
            if not times:
                continue
            while times and now - times[0] > self._window:
                times.popleft()
            if len(times) >= self._max:
                wait = max(wait, self._window - (now - times[0]))
        return wait

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        for key in keys:
            self._failures[key].append(now)
        if len(self._failures) > 10_000:
            self._failures = defaultdict(deque, {k: v for k, v in self._failures.items()
                                                 if v and now - v[-1] <= self._window})

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


def remote_of(request: web.Request) -> str:
    return request.remote or ""


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


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
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
    if not sent or not secrets.compare_digest(sent, session.csrf_token):
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
    if not cookie or not sent or not secrets.compare_digest(cookie, sent):
        raise api_error(403, "missing or wrong CSRF token: reload the log-in page", "csrf_failed")
