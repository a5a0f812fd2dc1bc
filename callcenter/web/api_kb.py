"""``/api/kb/…``: knowledge-base search and suggestions for the console (every logged-in role),
article management for supervisors and admins, and the open rates of suggestions.

Wiring: ``make_app(..., features=[api_kb.register, kb_page.register])``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from callcenter.kb.markdown import render
from callcenter.kb.store import LANGUAGES, STATUSES, ArticleInput, ArticleStore, KbError, NotFound
from callcenter.kb.suggest import signals
from callcenter.store.call_history import is_agents_call
from callcenter.store.users import Session
from callcenter.web.auth import require
from callcenter.web.errors import api_error
from callcenter.web.i18n import catalog, pick_language
from callcenter.web.keys import ARTICLES, CLOCK, POOL
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import json_object, path_id, query_choice, query_time

READERS = ("agent", "supervisor", "admin", "qa")
EDITORS = ("supervisor", "admin")

HIT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "slug": {"type": "string"}, "language": {"type": "string"},
    "title": {"type": "string"}, "snippet": {"type": "string"}, "score": {"type": "number"}}}
ARTICLE_BODY: dict[str, Any] = {"type": "object", "required": ["slug", "language", "title", "body_md"],
                                "properties": {
    "slug": {"type": "string"}, "language": {"type": "string", "enum": list(LANGUAGES)},
    "title": {"type": "string", "maxLength": 200}, "body_md": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "skills": {"type": "array", "items": {"type": "string"}},
    "categories": {"type": "array", "items": {"type": "string"}},
    "expected_version": {"type": "integer"}}}


def _store(request: web.Request) -> ArticleStore:
    return request.app[ARTICLES]


def _kb_error(exc: KbError) -> web.HTTPException:
    if isinstance(exc, NotFound):
        return api_error(404, str(exc), exc.error_id)
    status = 409 if exc.error_id in ("slug_taken", "version_conflict") else 400
    return api_error(status, str(exc), exc.error_id)


async def _body(request: web.Request) -> dict[str, Any]:
    return await json_object(request)


_BIGINT = 2**63


def _article_id(request: web.Request) -> int:
    return path_id(request, "article_id", "no such article")


def _language(request: web.Request) -> str | None:
    return query_choice(request, "language", LANGUAGES)


def _optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -_BIGINT < value < _BIGINT:
        raise api_error(400, f"{name} must be an integer", "bad_parameter", parameter=name)
    return value


def _call_ref(value: Any) -> int | str | None:
    """A call given by ``calls.id`` or linkedid; anything else counts as no call (the pop comes
    from the browser and must never make the suggestions fail)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        return value
    return None


async def _own_call(request: web.Request, session: Session, store: ArticleStore,
                    ref: Any) -> int | None:
    """The call a view or suggestion is recorded on: for an agent only a call of theirs.
    Another agent's call is treated exactly like a call that does not exist (no call)."""
    call_id = await store.resolve_call(_call_ref(ref))
    if call_id is None or session.user.role != "agent":
        return call_id
    mine = await is_agents_call(request.app[POOL], call_id, session.user.agent_id)
    return call_id if mine else None


async def strings(request: web.Request) -> web.Response:
    """The panel's strings in the user's language (the console page is not ours to template)."""
    require(request)
    lang = pick_language(request)
    return web.json_response({"language": lang, "strings": {
        k: v for k, v in catalog(lang).items() if k.startswith("kb.panel.")}})


async def search(request: web.Request) -> web.Response:
    require(request, *READERS)
    query = request.query.get("q", "").strip()
    if len(query) > 200:
        raise api_error(400, "q is longer than 200 characters", "bad_parameter", parameter="q")
    hits = await _store(request).search(query, language=_language(request),
                                        limit=10) if query else []
    return web.json_response({"q": query, "articles": [h.to_json() for h in hits]})


async def suggest(request: web.Request) -> web.Response:
    session = require(request, *READERS)
    pop = await _body(request)
    found = signals(pop, datetime.fromtimestamp(request.app[CLOCK].now(), UTC))
    store = _store(request)
    hits = await store.suggest(found, limit=5) if found.words else []
    call_id = await _own_call(request, session, store, pop.get("call_id"))
    recorded = await store.record_suggestions(call_id, hits, "; ".join(found.reasons))
    return web.json_response({"call_id": call_id, "reasons": list(found.reasons),
                              "recorded": recorded, "articles": [h.to_json() for h in hits]})


async def open_article(request: web.Request) -> web.Response:
    """An agent opens an article: recorded in ``article_views``; returns it rendered."""
    session = require(request, *READERS)
    body = await _body(request)
    source = body.get("source", "search")
    store = _store(request)
    call_id = await _own_call(request, session, store, body.get("call_id"))
    try:
        article = await store.get(_article_id(request))
        if article.status != "published" and session.user.role not in EDITORS:
            raise NotFound()
        article = await store.record_view(article.id, session.user.id, call_id, str(source))
    except KbError as exc:
        raise _kb_error(exc) from None
    return web.json_response({**article.to_json(), "html": render(article.body_md)})


async def get_article(request: web.Request) -> web.Response:
    session = require(request, *READERS)
    try:
        article = await _store(request).get(_article_id(request))
    except KbError as exc:
        raise _kb_error(exc) from None
    if article.status != "published" and session.user.role not in EDITORS:
        raise api_error(404, "no such article", "not_found")
    return web.json_response({**article.to_json(), "html": render(article.body_md)})


async def list_articles(request: web.Request) -> web.Response:
    require(request, *EDITORS)
    status = query_choice(request, "status", STATUSES)
    articles = await _store(request).list_articles(_language(request), status)
    return web.json_response({"articles": [
        {k: v for k, v in a.to_json().items() if k != "body_md"} for a in articles]})


async def create_article(request: web.Request) -> web.Response:
    session = require(request, *EDITORS)
    body = await _body(request)
    try:
        article = await _store(request).create(ArticleInput.parse(body), session.user.login)
    except KbError as exc:
        raise _kb_error(exc) from None
    return web.json_response(article.to_json(), status=201)


async def update_article(request: web.Request) -> web.Response:
    session = require(request, *EDITORS)
    body = await _body(request)
    try:
        article = await _store(request).update(
            _article_id(request), ArticleInput.parse(body), session.user.login,
            _optional_int(body.get("expected_version"), "expected_version"))
    except KbError as exc:
        raise _kb_error(exc) from None
    return web.json_response(article.to_json())


async def set_status(request: web.Request) -> web.Response:
    session = require(request, *EDITORS)
    body = await _body(request)
    try:
        article = await _store(request).set_status(_article_id(request), str(body.get("status")),
                                                   session.user.login)
    except KbError as exc:
        raise _kb_error(exc) from None
    return web.json_response(article.to_json())


async def versions(request: web.Request) -> web.Response:
    require(request, *EDITORS)
    try:
        rows = await _store(request).versions(_article_id(request))
    except KbError as exc:
        raise _kb_error(exc) from None
    return web.json_response({"versions": rows})


async def preview(request: web.Request) -> web.Response:
    require(request, *EDITORS)
    body = await _body(request)
    text = body.get("body_md")
    if not isinstance(text, str) or len(text) > 100_000:
        raise api_error(400, "body_md must be text of up to 100000 characters", "bad_parameter",
                        parameter="body_md")
    return web.json_response({"html": render(text)})


async def suggestion_stats(request: web.Request) -> web.Response:
    require(request, *EDITORS)
    end = query_time(request, "to") or datetime.fromtimestamp(request.app[CLOCK].now(), UTC)
    start = query_time(request, "from") or end - timedelta(days=30)
    if end <= start:
        raise api_error(400, "to must be after from", "bad_parameter", parameter="to")
    rows = await _store(request).suggestion_stats(start, end)
    return web.json_response({"from": start.isoformat(), "to": end.isoformat(), "articles": rows})


def register(app: web.Application, api: Api) -> None:
    """The knowledge-base API (needs the app's pool, see ``make_app``)."""
    app[ARTICLES] = ArticleStore(app[POOL])
    _reading(api)
    _editing(api)


_PATH = "/api/kb/articles/{article_id}"
_ID = Param("article_id", "path", {"type": "integer"})


def _reading(api: Api) -> None:
    """What agents use from the console: search, suggestions, opening an article."""
    path, id_param = _PATH, _ID
    api.add(Route("GET", "/api/kb/i18n", strings, "The knowledge-base panel's strings", ()))
    api.add(Route("GET", "/api/kb/search", search, "Search published articles", READERS,
                  params=(Param("q", "query", {"type": "string", "maxLength": 200}),
                          Param("language", "query", {"type": "string", "enum": list(LANGUAGES)})),
                  response={"type": "object", "properties": {
                      "articles": {"type": "array", "items": HIT_SCHEMA}}}))
    api.add(Route("POST", "/api/kb/suggest", suggest,
                  "Articles for a screen-pop (the pop JSON); recorded per call", READERS,
                  body={"type": "object"},
                  response={"type": "object", "properties": {
                      "reasons": {"type": "array", "items": {"type": "string"}},
                      "articles": {"type": "array", "items": HIT_SCHEMA}}}))
    api.add(Route("POST", path + "/views", open_article,
                  "Open an article (recorded in article_views); returns it with safe HTML", READERS,
                  params=(id_param,), body={"type": "object", "properties": {
                      "call_id": {"oneOf": [{"type": "integer"}, {"type": "string"}],
                                  "description": "calls.id or linkedid"},
                      "source": {"type": "string", "enum": ["suggestion", "search", "browse"]}}}))
    api.add(Route("GET", path, get_article, "One article with its rendered HTML", READERS,
                  params=(id_param,)))


def _editing(api: Api) -> None:
    """What supervisors use to manage articles, and the suggestions' open rates."""
    path, id_param = _PATH, _ID
    api.add(Route("GET", "/api/kb/articles", list_articles, "All articles, drafts too", EDITORS,
                  params=(Param("language", "query", {"type": "string", "enum": list(LANGUAGES)}),
                          Param("status", "query", {"type": "string", "enum": list(STATUSES)}))))
    api.add(Route("POST", "/api/kb/articles", create_article, "Create a draft article", EDITORS,
                  body=ARTICLE_BODY))
    api.add(Route("PUT", path, update_article, "Save a new version of an article", EDITORS,
                  params=(id_param,), body=ARTICLE_BODY))
    api.add(Route("POST", path + "/status", set_status, "Publish or unpublish", EDITORS,
                  params=(id_param,), body={"type": "object", "required": ["status"], "properties": {
                      "status": {"type": "string", "enum": list(STATUSES)}}}))
    api.add(Route("GET", path + "/versions", versions, "Version history, newest first", EDITORS,
                  params=(id_param,)))
    api.add(Route("POST", "/api/kb/preview", preview, "Render Markdown to safe HTML", EDITORS,
                  body={"type": "object", "properties": {"body_md": {"type": "string"}}}))
    api.add(Route("GET", "/api/kb/suggestions/stats", suggestion_stats,
                  "Open rate per suggested article over a period (default: 30 days)", EDITORS,
                  params=(Param("from", "query", {"type": "string", "format": "date-time"}),
                          Param("to", "query", {"type": "string", "format": "date-time"}))))
