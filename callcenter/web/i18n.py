"""String catalogues for the pages: English and Simplified Chinese, chosen per user.

Each feature keeps its strings in ``locales/<feature>.json`` as ``{"en": {...}, "zh-CN": {...}}``;
the catalogues are their union. A key defined by two files, or missing from a language, is a
packaging error caught by the tests (``missing_keys``/``load_catalogs``).
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("en", "zh-CN")


def load_catalogs(directory: Path = LOCALES) -> dict[str, dict[str, str]]:
    """Merge every ``*.json`` catalogue in ``directory``.

    Raises:
        ValueError: a file is malformed, names an unknown language, or redefines a key.
    """
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    origin: dict[tuple[str, str], str] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path.name}: must be an object of languages")
        for lang, strings in data.items():
            if lang not in merged or not isinstance(strings, dict):
                raise ValueError(f"{path.name}: unknown language {lang!r} or not an object")
            for key, value in strings.items():
                if not isinstance(value, str):
                    raise ValueError(f"{path.name}: {lang}.{key} must be a string")
                if (lang, key) in origin:
                    raise ValueError(f"{path.name}: {lang}.{key} already defined in {origin[lang, key]}")
                origin[lang, key] = path.name
                merged[lang][key] = value
    return merged


CATALOGS = load_catalogs()


def missing_keys(catalogs: dict[str, dict[str, str]] | None = None) -> dict[str, list[str]]:
    """Per language, the keys some other language has and it lacks."""
    catalogs = CATALOGS if catalogs is None else catalogs
    every = set().union(*(set(c) for c in catalogs.values()))
    return {lang: sorted(every - set(c)) for lang, c in catalogs.items() if every - set(c)}


def text(lang: str, key: str) -> str:
    """The string for ``key`` in ``lang``, falling back to English, then to the key itself."""
    return CATALOGS.get(lang, {}).get(key) or CATALOGS["en"].get(key, key)


def catalog(lang: str) -> dict[str, str]:
    """Every string of ``lang`` (English where it lacks one), for pages that render in the browser."""
    return {**CATALOGS["en"], **CATALOGS.get(lang, {})}


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
