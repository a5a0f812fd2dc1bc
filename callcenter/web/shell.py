"""The page shell every HTML page is drawn in: the ``<head>``, the header (the product, the
user, their role, the language switch and log-out), the navigation that marks where you are,
and the skeleton around a page's body.

Pages are shells: their module script (``static/<page>.js``) draws them with the shared browser
module ``static/dom.js``. The strings a page needs travel as a JSON data block (the CSP allows
no inline script, and a data block is not executed).
"""

from __future__ import annotations

import html
import json

from aiohttp import web

from callcenter.web.auth import current_session
from callcenter.web.i18n import catalog, pick_language, text

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
    return document(lang, title, f'<div class="page-title"><h1>{html.escape(title)}</h1></div>\n{body}',
                    body_class=f"page page-{html.escape(page)}", attrs=attrs, extra_head=extra,
                    header_html=header(request, lang))


def skeleton(lang: str, title: str, body: str, *, body_class: str, attrs: str = "", extra_head: str = "",
             header_html: str = "") -> str:
    """The HTML of every page (the log-in and error pages too): :func:`head`, then the body
    with its class, the header (when given) and ``body``. ``title`` gets the product's name."""
    full_title = f"{title} · {text(lang, 'app.name')}"
    return f"""{head(lang, full_title, extra_head)}
<body class="{body_class}"{attrs}>{header_html}
{body}
</body></html>"""


def document(lang: str, title: str, body: str, *, body_class: str, attrs: str = "", extra_head: str = "",
             header_html: str = "", status: int = 200) -> web.Response:
    """:func:`skeleton` as an HTML response."""
    return web.Response(status=status, content_type="text/html", text=skeleton(
        lang, title, body, body_class=body_class, attrs=attrs, extra_head=extra_head,
        header_html=header_html))


def check_page_role(request: web.Request, roles: tuple[str, ...]) -> None:
    """Redirect to the log-in page without a session; 403 with another role."""
    session = current_session(request)
    if session is None:
        raise web.HTTPSeeOther("/login")
    if session.user.role not in roles:
        raise web.HTTPForbidden(text="your role may not open this page")
