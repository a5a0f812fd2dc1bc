"""QA review API (roles qa, supervisor, admin): scored calls with filters and CSV, one call's
transcript, sentiment, scorecard items with evidence and recordings, and reviewers' overrides
(each audited; the final score is recomputed with them)."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from callcenter.store import qa_reviews, recording_files
from callcenter.store.qa_reviews import QaFilter
from callcenter.web.auth import remote_of, require
from callcenter.web.csv_cells import safe_cell
from callcenter.web.errors import api_error
from callcenter.web.keys import POOL, SESSION
from callcenter.web.openapi import Api, Param, Route
from callcenter.web.params import (
    json_object,
    path_id,
    query_choice,
    query_flag,
    query_float,
    query_int,
    query_text,
    query_time,
)

ROLES = ("qa", "supervisor", "admin")
FLAGS = ("customer_ended_negative", "prohibited_word", "dead_air", "below_pass_mark", "no_speech")
MAX_TEXT = 64


def filters(request: web.Request) -> QaFilter:
    """The list filters of the query."""
    return QaFilter(
        since=query_time(request, "from"), until=query_time(request, "to"),
        agent=query_text(request, "agent", MAX_TEXT), skill=query_text(request, "skill", MAX_TEXT),
        min_score=query_float(request, "min_score", None, 0, 100),
        max_score=query_float(request, "max_score", None, 0, 100),
        flag=query_choice(request, "flag", FLAGS) or "",
        ended_negative=query_flag(request, "ended_negative"))


async def list_calls(request: web.Request) -> web.Response:
    require(request, *ROLES)
    wanted = filters(request)
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    calls = await qa_reviews.list_reviews(request.app[POOL], wanted, limit, offset)
    return web.json_response({"calls": calls, "limit": limit, "offset": offset})


def _cell(value: Any) -> Any:
    return safe_cell(value)


async def export_csv(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    rows = await qa_reviews.list_reviews(request.app[POOL], filters(request), 100_000)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["call_id", "arrived_at", "agent", "skill", "caller_number", "total", "final_score",
               "flags", "scorecard", "version", "reviewer"]
    writer.writerow(columns)
    for data in rows:
        data["flags"] = " ".join(data["flags"])
        writer.writerow([_cell(data[c]) for c in columns])
    await request.app[SESSION].audit(session.user.login, "qa.export", remote=remote_of(request),
                                     detail={"rows": len(rows)})
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"),
                        headers={"Content-Type": "text/csv; charset=utf-8",
                                 "Content-Disposition": 'attachment; filename="qa-calls.csv"'})


def _call_id(request: web.Request) -> int:
    return path_id(request, "call_id", "no such call")


async def get_call(request: web.Request) -> web.Response:
    require(request, *ROLES)
    call_id = _call_id(request)
    pool = request.app[POOL]
    found = await qa_reviews.review(pool, call_id)
    if found is None:
        raise api_error(404, "this call has not been scored", "not_found")
    files = await recording_files.recordings(pool, call_id, final_only=True)
    gaps = await recording_files.gaps(pool, call_id)
    return web.json_response({
        **found,
        "recordings": [{"id": r.id, "kind": r.kind, "duration_s": r.duration_s,
                        "audio_url": f"/api/recordings/{r.id}/audio"} for r in files],
        "gaps": [{"reason": g.reason, "started_at": g.started_at.isoformat(),
                  "ended_at": g.ended_at.isoformat() if g.ended_at else None} for g in gaps],
    })


async def add_override(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    call_id = _call_id(request)
    body = await json_object(request, "bad_body")
    item_id, passed, comment = body.get("item_id"), body.get("passed"), body.get("comment", "")
    if not isinstance(passed, bool):
        raise api_error(400, "passed must be true or false", "bad_body")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise api_error(400, "comment must be text of at most 2000 characters", "bad_body")
    try:
        final = await qa_reviews.add_override(request.app[POOL], call_id, item_id, passed, comment.strip(),
                                              session.user.login)
    except qa_reviews.NotScored:
        raise api_error(404, "this call has not been scored", "not_found") from None
    except qa_reviews.UnknownItem:
        raise api_error(400, "item_id is not an item of this call's scorecard", "bad_body") from None
    await request.app[SESSION].audit(session.user.login, "qa.override", target=f"call:{call_id}",
                                     remote=remote_of(request),
                                     detail={"item_id": item_id, "passed": passed, "comment": comment[:200],
                                             "final_score": final})
    return web.json_response({"call_id": call_id, "item_id": item_id, "passed": passed, "final_score": final})


LIST_PARAMS = (
    Param("from", "query", {"type": "string", "format": "date-time"}),
    Param("to", "query", {"type": "string", "format": "date-time"}),
    Param("agent", "query", {"type": "string", "maxLength": MAX_TEXT}, "agent login"),
    Param("skill", "query", {"type": "string", "maxLength": MAX_TEXT}),
    Param("min_score", "query", {"type": "number", "minimum": 0, "maximum": 100}),
    Param("max_score", "query", {"type": "number", "minimum": 0, "maximum": 100}),
    Param("flag", "query", {"type": "string", "enum": list(FLAGS)}),
    Param("ended_negative", "query", {"type": "string", "enum": ["0", "1", "true", "false"]}),
)


def register(app: web.Application, api: Api) -> None:
    api.add(Route("GET", "/api/qa/calls", list_calls, "Scored calls, newest first, filtered", ROLES,
                  params=(*LIST_PARAMS,
                          Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
                          Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": 1000000}))))
    api.add(Route("GET", "/api/qa/calls.csv", export_csv, "Scored calls as CSV (same filters)", ROLES,
                  params=LIST_PARAMS, response={"type": "string"}))
    call = Param("call_id", "path", {"type": "integer", "minimum": 1})
    api.add(Route("GET", "/api/qa/calls/{call_id}", get_call,
                  "One scored call: items with evidence, transcript with sentiment, recordings", ROLES,
                  params=(call,)))
    api.add(Route("POST", "/api/qa/calls/{call_id}/overrides", add_override,
                  "Override one scorecard item (audited); returns the new final score", ROLES,
                  params=(call,), body={"type": "object", "required": ["item_id", "passed"], "properties": {
                      "item_id": {"type": "string"}, "passed": {"type": "boolean"},
                      "comment": {"type": "string", "maxLength": 2000}}}))
