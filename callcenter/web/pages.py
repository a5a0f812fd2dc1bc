"""What every page shares besides the shell (:mod:`callcenter.web.shell`): ``/`` (log-in or the
user's home), the favicon, styled error pages with a way back, and ``POST /api/me/language``."""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from callcenter.web.auth import Handler, current_session, remote_of, require
from callcenter.web.errors import api_error
from callcenter.web.i18n import CATALOGS, LANGUAGES, pick_language, text
from callcenter.web.keys import SESSION
from callcenter.web.openapi import Api, Route
from callcenter.web.params import json_object
from callcenter.web.shell import document, header, home_of

STATIC = Path(__file__).with_name("static")


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

    body = f"""<main class="error-page"><p class="error-code">{status}</p>
<h1>{t("ui.error." + key + ".title")}</h1><p>{t("ui.error." + key + ".text")}</p>
<p><a class="button" href="{home}">{html.escape(back)}</a></p></main>"""
    return document(lang, text(lang, f"ui.error.{key}.title"), body, body_class="page page-error",
                    extra_head='<script type="module" src="/static/dom.js"></script>',
                    header_html=header(request, lang), status=status)


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
