"""``/login`` (form and JSON), ``/logout`` and ``/api/me``."""

from __future__ import annotations

import html
import math

from aiohttp import web

from callcenter.store.users import User
from callcenter.web.auth import (
    SESSION_COOKIE,
    check_login_csrf,
    current_session,
    new_login_csrf,
    remote_of,
    require,
    set_session_cookie,
    throttle_address,
)
from callcenter.web.errors import api_error
from callcenter.web.guard import bad_text
from callcenter.web.i18n import pick_language, text
from callcenter.web.keys import SESSION, THROTTLE
from callcenter.web.openapi import Api, Route
from callcenter.web.params import json_object
from callcenter.web.shell import HOME_BY_ROLE, LANGUAGE_NAMES, skeleton

MAX_FIELD = 200


def _page(lang: str, csrf: str, error: str = "") -> str:
    def t(key: str) -> str:
        return html.escape(text(lang, key))

    alert = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    other = "zh-CN" if lang == "en" else "en"
    return skeleton(lang, text(lang, "login.title"), f"""<main class="login-card">
<p class="brand"><span class="brand-mark" aria-hidden="true"></span>{t("app.name")}</p>
<h1>{t("login.title")}</h1>{alert}
<form method="post" action="/login" class="stack">
<input type="hidden" name="csrf_token" value="{html.escape(csrf)}">
<label>{t("login.user")}
  <input name="login" autocomplete="username" required maxlength="64" autofocus></label>
<label>{t("login.password")}
  <input name="password" type="password" autocomplete="current-password" required maxlength="200">
</label>
<button type="submit" class="button-primary">{t("login.submit")}</button>
</form>
<p class="login-hint">{t("login.hint")}</p>
<p class="login-language"><a href="/login?lang={other}" lang="{other}">
{html.escape(LANGUAGE_NAMES[other])}</a></p>
</main>""", body_class="login")


async def login_page(request: web.Request) -> web.Response:
    session = current_session(request)
    if session is not None:
        raise web.HTTPSeeOther(HOME_BY_ROLE.get(session.user.role, "/"))
    lang = pick_language(request)
    response = web.Response(content_type="text/html")
    response.text = _page(lang, new_login_csrf(request, response))
    return response


async def _credentials(request: web.Request) -> tuple[str, str]:
    """The login and password sent as JSON or by the form (whose CSRF cookie is checked)."""
    if request.content_type == "application/json":
        body = await json_object(request)
        login_name, password = str(body.get("login", "")), str(body.get("password", ""))
    else:
        form = await request.post()
        check_login_csrf(request, str(form.get("csrf_token", "")))
        login_name, password = str(form.get("login", "")), str(form.get("password", ""))
    if bad_text(login_name) or bad_text(password):
        raise api_error(400, "the login or password holds invalid characters", "bad_login")
    return login_name.strip().lower()[:MAX_FIELD], password[:MAX_FIELD]


def _throttled(wait: float) -> web.HTTPException:
    exc = api_error(429, "too many failed log-ins: try again later", "login_throttled",
                    retry_after_s=math.ceil(wait))
    exc.headers["Retry-After"] = str(math.ceil(wait))
    return exc


def _failed(request: web.Request, wants_json: bool) -> web.Response:
    if wants_json:
        raise api_error(401, "wrong login or password", "login_failed")
    lang = pick_language(request)
    page = web.Response(content_type="text/html", status=401)
    page.text = _page(lang, new_login_csrf(request, page), text(lang, "login.failed"))
    return page


async def _signed_in(request: web.Request, user: User, wants_json: bool) -> web.StreamResponse:
    """Open the session, set its cookie, and answer with the user (JSON) or their home page."""
    users = request.app[SESSION]
    token, session = await users.open_session(user, remote_of(request))
    await users.audit(user.login, "login", remote=remote_of(request))
    home = HOME_BY_ROLE.get(user.role, "/")
    if wants_json:
        response: web.StreamResponse = web.json_response(
            {"user": {"login": user.login, "role": user.role, "display_name": user.display_name,
                      "language": user.language}, "csrf_token": session.csrf_token, "home": home})
    else:
        response = web.HTTPSeeOther(home)
    set_session_cookie(request, response, token)
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def login(request: web.Request) -> web.StreamResponse:
    wants_json = request.content_type == "application/json"
    login_name, password = await _credentials(request)
    remote = remote_of(request)
    keys = (f"ip:{throttle_address(remote)}", f"login:{login_name}")
    throttle = request.app[THROTTLE]
    users = request.app[SESSION]
    wait, ticket = throttle.begin(keys)  # counted now, before the slow hash
    if wait > 0:
        await users.audit(login_name or "?", "login_throttled", remote=remote)
        raise _throttled(wait)
    user = await users.authenticate(login_name, password) if login_name and password else None
    if user is None:
        await users.audit(login_name or "?", "login_failed", remote=remote)
        return _failed(request, wants_json)
    throttle.succeeded(keys, ticket, forgive=[f"login:{login_name}"])
    return await _signed_in(request, user, wants_json)


async def logout(request: web.Request) -> web.Response:
    session = require(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    await request.app[SESSION].close_session(token)
    await request.app[SESSION].audit(session.user.login, "logout", remote=remote_of(request))
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    session = require(request)
    user = session.user
    return web.json_response({"login": user.login, "display_name": user.display_name, "role": user.role,
                              "language": user.language, "agent_id": user.agent_id,
                              "csrf_token": session.csrf_token})


def register(app: web.Application, api: Api) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    api.add(Route("POST", "/logout", logout, "Log out (ends the session)", (),
                  body={"type": "object"}))
    api.add(Route("GET", "/api/me", me, "Who is logged in, and the CSRF token for their session", (),
                  response={"type": "object", "properties": {
                      "login": {"type": "string"}, "role": {"type": "string"},
                      "csrf_token": {"type": "string"}}}))
