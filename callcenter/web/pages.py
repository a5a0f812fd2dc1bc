"""What every page shares: the HTML shell (header with the product, the user, their role, the
language switch and log-out; navigation that marks where you are), ``/`` (log-in or the user's
home), the favicon, styled error pages with a way back, and ``POST /api/me/language``.

Pages are shells: their module script (``static/<page>.js``) draws them with the shared browser
module ``static/ui.js``. The strings a page needs travel as a JSON data block (the CSP allows no
inline script, and a data block is not executed).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from aiohttp import web

from callcenter.web.auth import Handler, current_session, remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.i18n import CATALOGS, LANGUAGES, catalog, pick_language, text
from callcenter.web.keys import SESSION
from callcenter.web.openapi import Api, Route
from callcenter.web.params import json_object

STATIC = Path(__file__).with_name("static")
HOME_BY_ROLE = {"agent": "/agent", "supervisor": "/supervisor", "qa": "/qa", "admin": "/supervisor"}
# strings every page gets, besides its own prefix
SHARED_PREFIXES = ("app.", "ui.", "code.", "nav.")
# the pages, and who may open them (the navigation shows each user only theirs)
PAGES = (("/agent", "nav.agent", ("agent",)),
         ("/supervisor", "nav.supervisor", ("supervisor", "admin")),
         ("/qa", "nav.qa", ("qa", "supervisor", "admin")),
         ("/reports", "nav.reports", ("supervisor", "admin")),
         ("/kb", "nav.kb", ("supervisor", "admin")))
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}


def home_of(role: str) -> str:
    return HOME_BY_ROLE.get(role, "/login")


def head(lang: str, title: str, extra: str = "") -> str:
    """The ``<head>`` every page has: charset, viewport, title, icon, the one stylesheet."""
    return (f'<!doctype html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            f'<link rel="icon" href="/favicon.ico" type="image/svg+xml">'
            f'<link rel="stylesheet" href="/static/app.css">{extra}</head>')


def navigation(request: web.Request, lang: str) -> str:
    session = current_session(request)
    role = session.user.role if session is not None else ""
    strings = catalog(lang)
    links = []
    for path, key, roles in PAGES:
        if role in roles:
            current = ' aria-current="page"' if request.path == path else ""
            links.append(f'<a href="{path}"{current}>{html.escape(strings.get(key, key))}</a>')
    return "".join(links)


def header(request: web.Request, lang: str) -> str:
    """The product, the navigation, and the user's name, role, language and log-out."""
    session = current_session(request)

    def t(key: str) -> str:
        return html.escape(text(lang, key))

    user = ""
    if session is not None:
        options = "".join(
            f'<option value="{code}"{" selected" if code == lang else ""}>{html.escape(name)}</option>'
            for code, name in LANGUAGE_NAMES.items())
        role = session.user.role
        user = (f'<div class="user-box"><span class="user-name" id="user-name">'
                f"{html.escape(session.user.display_name or session.user.login)}</span>"
                f'<span class="user-role" id="user-role">{t("code.role." + role)}</span>'
                f'<label class="language-switch"><span class="visually-hidden">{t("ui.language")}</span>'
                f'<select id="language-switch">{options}</select></label>'
                f'<button type="button" id="logout" class="button-quiet">{t("ui.logout")}</button></div>')
        home = home_of(role)
    else:
        home = "/login"
    return (f'<header class="app-header"><a class="brand" href="{home}">'
            f'<span class="brand-mark" aria-hidden="true"></span>{t("app.name")}</a>'
            f"<nav>{navigation(request, lang)}</nav>{user}</header>"
            '<div id="announcer" class="visually-hidden" aria-live="polite" aria-atomic="true"></div>'
            '<div id="alerter" class="visually-hidden" role="alert" aria-atomic="true"></div>')


def page_shell(request: web.Request, *, prefix: str, title_key: str, script: str, body: str,
               css: str = "", data: dict[str, str] | None = None) -> web.Response:
    """An HTML page for the logged-in user: shared header, the strings of ``prefix`` (and the
    shared ones) as a JSON data block, one module script. ``css`` is an optional extra
    stylesheet; ``data`` becomes ``data-*`` attributes of ``<body>``."""
    lang = pick_language(request)
    strings = {k: v for k, v in catalog(lang).items()
               if k.startswith(prefix) or k.startswith(SHARED_PREFIXES)}
    block = json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c")
    title = strings.get(title_key, title_key)
    session = current_session(request)
    csrf = html.escape(session.csrf_token) if session is not None else ""
    extra = (f'<meta name="csrf-token" content="{csrf}">'
             + (f'<link rel="stylesheet" href="/static/{css}">' if css else "")
             + f'<script type="application/json" id="page-i18n">{block}</script>'
             + f'<script type="module" src="/static/{script}"></script>')
    attrs = "".join(f' data-{html.escape(k)}="{html.escape(v)}"' for k, v in (data or {}).items())
    page = prefix.rstrip(".")
    full_title = f"{title} · {text(lang, 'app.name')}"
    return web.Response(content_type="text/html", text=f"""{head(lang, full_title, extra)}
<body class="page page-{html.escape(page)}"{attrs}>{header(request, lang)}
<div class="page-title"><h1>{html.escape(title)}</h1></div>
{body}
</body></html>""")


def check_page_role(request: web.Request, roles: tuple[str, ...]) -> None:
    """Redirect to the log-in page without a session; 403 with another role."""
    session = current_session(request)
    if session is None:
        raise web.HTTPSeeOther("/login")
    if session.user.role not in roles:
        raise web.HTTPForbidden(text="your role may not open this page")


# --- /, the icon, errors -----------------------------------------------------------------------

async def root(request: web.Request) -> web.Response:
    session = current_session(request)
    raise web.HTTPSeeOther(home_of(session.user.role) if session is not None else "/login")


async def favicon(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml",
                                                             "Cache-Control": "max-age=86400"})


def error_page(request: web.Request, status: int) -> web.Response:
    lang = pick_language(request)
    session = current_session(request)
    key = {403: "forbidden", 404: "not_found", 405: "not_found"}.get(status, "failed")
    home = home_of(session.user.role) if session is not None else "/login"
    back = text(lang, "ui.error.home" if session is not None else "ui.error.login")

    def t(k: str) -> str:
        return html.escape(text(lang, k))

    body = f"""{head(lang, f"{text(lang, 'ui.error.' + key + '.title')} · {text(lang, 'app.name')}",
                     '<script type="module" src="/static/ui.js"></script>')}
<body class="page page-error">{header(request, lang)}
<main class="error-page"><p class="error-code">{status}</p>
<h1>{t("ui.error." + key + ".title")}</h1><p>{t("ui.error." + key + ".text")}</p>
<p><a class="button" href="{home}">{html.escape(back)}</a></p></main></body></html>"""
    return web.Response(status=status, content_type="text/html", text=body)


def _wants_page(request: web.Request, exc: web.HTTPException) -> bool:
    if request.path.startswith(("/api/", "/ws/", "/static/", "/healthz", "/metrics")):
        return False
    if exc.content_type == "application/json":
        return False
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("Accept", "")


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A browser asking for a page it may not open, or one that does not exist, gets a page
    with a way back, not a line of text (API clients keep their JSON errors)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status in (403, 404, 405) and _wants_page(request, exc):
            return error_page(request, exc.status)
        raise


# --- the language --------------------------------------------------------------------------------

async def set_language(request: web.Request) -> web.Response:
    session = require(request)
    body = await json_object(request)
    language = body.get("language")
    if language not in LANGUAGES or language not in CATALOGS:
        raise api_error(400, f"language must be one of {', '.join(LANGUAGES)}", "bad_parameter",
                        parameter="language")
    store = request.app[SESSION]
    await store.set_language(session.user.id, str(language))
    await store.audit(session.user.login, "language_changed", remote=remote_of(request),
                      detail={"language": language})
    return web.json_response({"language": language})


def register(app: web.Application, api: Api) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/favicon.ico", favicon)
    api.add(Route("POST", "/api/me/language", set_language,
                  "Choose the language of the pages for the logged-in user (stored)", (),
                  body={"type": "object", "required": ["language"], "properties": {
                      "language": {"type": "string", "enum": list(LANGUAGES)}}}))
