"""``/kb``: the supervisors' article management page (list, create, edit, preview, publish,
version history). The page is a shell; ``static/kb-admin.js`` drives it through ``/api/kb``.

Wiring: ``make_app(..., features=[api_kb.register, kb_page.register])``.
"""

from __future__ import annotations

import html
import json

from aiohttp import web

from callcenter.web.auth import current_session
from callcenter.web.i18n import catalog, pick_language

EDITORS = ("supervisor", "admin")


def page_shell(request: web.Request, *, prefix: str, title_key: str, script: str, css: str,
               body: str) -> web.Response:
    """An HTML page for the logged-in user: the strings of ``prefix`` as a JSON data block
    (CSP allows no inline script, and a data block is not executed), one module script."""
    lang = pick_language(request)
    strings = {k: v for k, v in catalog(lang).items() if k.startswith(prefix) or k == "app.name"}
    data = json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c")
    title = html.escape(strings.get(title_key, title_key))
    return web.Response(content_type="text/html", text=f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/app.css"><link rel="stylesheet" href="/static/{css}">
<script type="application/json" id="page-i18n">{data}</script>
<script type="module" src="/static/{script}"></script></head>
<body><header class="page-header"><h1>{title}</h1>
<nav>{navigation(request, lang)}</nav></header>
{body}
</body></html>""")


# the pages, and who may open them (the navigation shows each user only theirs)
PAGES = (("/agent", "nav.agent", ("agent",)),
         ("/supervisor", "nav.supervisor", ("supervisor", "admin")),
         ("/qa", "nav.qa", ("qa", "supervisor", "admin")),
         ("/reports", "nav.reports", ("supervisor", "admin")),
         ("/kb", "nav.kb", ("supervisor", "admin")))


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


def check_page_role(request: web.Request, roles: tuple[str, ...]) -> None:
    """Redirect to the log-in page without a session; 403 with another role."""
    session = current_session(request)
    if session is None:
        raise web.HTTPSeeOther("/login")
    if session.user.role not in roles:
        raise web.HTTPForbidden(text="your role may not open this page")


async def kb_page(request: web.Request) -> web.Response:
    check_page_role(request, EDITORS)
    return page_shell(request, prefix="kb.", title_key="kb.title", script="kb-admin.js",
                      css="kb-admin.css", body='<main id="kb-admin" class="kb-admin"></main>')


def register(app: web.Application, api: object) -> None:
    app.router.add_get("/kb", kb_page)
