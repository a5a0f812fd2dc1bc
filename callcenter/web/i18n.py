"""String catalogues for the pages: English and Simplified Chinese, chosen per user."""

from __future__ import annotations

from aiohttp import web

CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "app.name": "After-sales call center",
        "login.title": "Log in",
        "login.user": "User",
        "login.password": "Password",
        "login.submit": "Log in",
        "login.failed": "Wrong user or password.",
    },
    "zh-CN": {
        "app.name": "售后呼叫中心",
        "login.title": "登录",
        "login.user": "用户名",
        "login.password": "密码",
        "login.submit": "登录",
        "login.failed": "用户名或密码错误。",
    },
}
LANGUAGES = tuple(CATALOGS)


def text(lang: str, key: str) -> str:
    """The string for ``key`` in ``lang``, falling back to English, then to the key itself."""
    return CATALOGS.get(lang, {}).get(key) or CATALOGS["en"].get(key, key)


def pick_language(request: web.Request) -> str:
    """The logged-in user's language, else ``?lang=``, else the browser's Accept-Language."""
    from callcenter.web.auth import current_session

    session = current_session(request)
    if session is not None and session.user.language in CATALOGS:
        return session.user.language
    asked = request.query.get("lang", "")
    if asked in CATALOGS:
        return asked
    accept = request.headers.get("Accept-Language", "").lower()
    return "zh-CN" if accept.startswith("zh") else "en"
