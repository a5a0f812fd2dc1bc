"""QA review API (roles qa, supervisor, admin): scored calls with filters and CSV, one call's
transcript, sentiment, scorecard items with evidence and recordings, and reviewers' overrides
(each audited; the final score is recomputed with them)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from aiohttp import web

from callcenter.web.api_calls import POOL
from callcenter.web.auth import SESSION, remote_of, require
from callcenter.web.csv_cells import safe_cell
from callcenter.web.errors import api_error
from callcenter.web.ids import path_id, query_int
from callcenter.web.openapi import Api, Param, Route
from qa.scorecard.model import ItemResult
from qa.scorecard.score import total_of

ROLES = ("qa", "supervisor", "admin")
FLAGS = ("customer_ended_negative", "prohibited_word", "dead_air", "below_pass_mark", "no_speech")
MAX_TEXT = 64


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise api_error(400, f"{name} must be an ISO 8601 time", "bad_parameter", parameter=name) from None
    if value.tzinfo is None:
        raise api_error(400, f"{name} needs a time zone", "bad_parameter", parameter=name)
    return value


def _number(request: web.Request, name: str, low: float, high: float) -> float | None:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise api_error(400, f"{name} must be a number", "bad_parameter", parameter=name) from None
    if not low <= value <= high:
        raise api_error(400, f"{name} must be between {low:g} and {high:g}", "bad_parameter", parameter=name)
    return value


def _text(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise api_error(400, f"{name} is too long or invalid", "bad_parameter", parameter=name)
    return value


def filters(request: web.Request) -> tuple[str, list[Any]]:
    """The WHERE clause (parameterised) for the list filters."""
    where: list[str] = []
    args: list[Any] = []

    def add(clause: str, value: Any) -> None:
        args.append(value)
        where.append(clause.replace("?", f"${len(args)}"))

    since, until = _time(request, "from"), _time(request, "to")
    if since:
        add("c.arrived_at >= ?", since)
    if until:
        add("c.arrived_at < ?", until)
    agent = _text(request, "agent")
    if agent:
        add("a.login = ?", agent)
    skill = _text(request, "skill")
    if skill:
        add("c.context->>'route.skill' = ?", skill)
    low, high = _number(request, "min_score", 0, 100), _number(request, "max_score", 0, 100)
    if low is not None:
        add("q.final_score >= ?", low)
    if high is not None:
        add("q.final_score <= ?", high)
    flag = request.query.get("flag", "")
    if flag:
        if flag not in FLAGS:
            raise api_error(400, f"flag must be one of {', '.join(FLAGS)}", "bad_parameter", parameter="flag")
        add("? = ANY(q.flags)", flag)
    if request.query.get("ended_negative") in ("1", "true"):
        where.append("'customer_ended_negative' = ANY(q.flags)")
    return ("WHERE " + " AND ".join(where)) if where else "", args


LIST_SQL = """SELECT c.id AS call_id, c.linkedid, c.arrived_at, c.caller_number,
                     c.context->>'route.skill' AS skill, a.login AS agent, a.display_name AS agent_name,
                     q.total, q.final_score, q.flags, q.scorecard, q.version, q.reviewer, q.reviewed_at,
                     q.sentiment->>'customer' AS customer_sentiment
              FROM qa_results q JOIN calls c ON c.id = q.call_id
              LEFT JOIN agents a ON a.id = c.agent_id {where}
              ORDER BY c.arrived_at DESC, c.id DESC"""


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    out["flags"] = list(row["flags"])
    sentiment = out.pop("customer_sentiment")
    out["customer_sentiment"] = float(sentiment) if sentiment is not None else None
    return out


async def list_calls(request: web.Request) -> web.Response:
    require(request, *ROLES)
    where, args = filters(request)
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    rows = await request.app[POOL].fetch(LIST_SQL.format(where=where) + f" LIMIT {limit} OFFSET {offset}",
                                         *args)
    return web.json_response({"calls": [_row(r) for r in rows], "limit": limit, "offset": offset})


def _cell(value: Any) -> Any:
    return safe_cell(value)


async def export_csv(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    where, args = filters(request)
    rows = await request.app[POOL].fetch(LIST_SQL.format(where=where) + " LIMIT 100000", *args)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["call_id", "arrived_at", "agent", "skill", "caller_number", "total", "final_score",
               "flags", "scorecard", "version", "reviewer"]
    writer.writerow(columns)
    for row in rows:
        data = _row(row)
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
    row = await pool.fetchrow(LIST_SQL.format(where="WHERE c.id = $1"), call_id)
    if row is None:
        raise api_error(404, "this call has not been scored", "not_found")
    result = await pool.fetchrow(
        "SELECT items, sentiment, model, scored_at FROM qa_results WHERE call_id = $1", call_id)
    utterances = await pool.fetch(
        "SELECT seq, speaker, start_s, end_s, text, sentiment, sentiment_score FROM utterances"
        " WHERE call_id = $1 ORDER BY seq", call_id)
    overrides = await pool.fetch("SELECT item_id, passed, comment, reviewer, at FROM qa_overrides"
                                 " WHERE call_id = $1 ORDER BY at DESC", call_id)
    recordings = await pool.fetch("SELECT id, kind, duration_s FROM recordings WHERE call_id = $1"
                                  " AND status = 'final' ORDER BY id", call_id)
    gaps = await pool.fetch("SELECT reason, started_at, ended_at FROM recording_gaps WHERE call_id = $1",
                            call_id)
    return web.json_response({
        **_row(row),
        "items": json.loads(result["items"]), "sentiment": json.loads(result["sentiment"]),
        "model": result["model"], "scored_at": result["scored_at"].isoformat(),
        "utterances": [{"seq": u["seq"], "speaker": u["speaker"], "start": u["start_s"], "end": u["end_s"],
                        "text": u["text"], "sentiment": u["sentiment"], "score": u["sentiment_score"]}
                       for u in utterances],
        "overrides": [{"item_id": o["item_id"], "passed": o["passed"], "comment": o["comment"],
                       "reviewer": o["reviewer"], "at": o["at"].isoformat()} for o in overrides],
        "recordings": [{"id": r["id"], "kind": r["kind"], "duration_s": r["duration_s"],
                        "audio_url": f"/api/recordings/{r['id']}/audio"} for r in recordings],
        "gaps": [{"reason": g["reason"], "started_at": g["started_at"].isoformat(),
                  "ended_at": g["ended_at"].isoformat() if g["ended_at"] else None} for g in gaps],
    })


async def add_override(request: web.Request) -> web.Response:
    session = require(request, *ROLES)
    call_id = _call_id(request)
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise api_error(400, "the body must be JSON", "bad_body") from None
    if not isinstance(body, dict):
        raise api_error(400, "the body must be an object", "bad_body")
    item_id, passed, comment = body.get("item_id"), body.get("passed"), body.get("comment", "")
    if not isinstance(passed, bool):
        raise api_error(400, "passed must be true or false", "bad_body")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise api_error(400, "comment must be text of at most 2000 characters", "bad_body")
    pool = request.app[POOL]
    async with pool.acquire() as conn, conn.transaction():
        result = await conn.fetchrow("SELECT items FROM qa_results WHERE call_id = $1 FOR UPDATE", call_id)
        if result is None:
            raise api_error(404, "this call has not been scored", "not_found")
        items = [ItemResult(i["item_id"], i["label"], float(i["weight"]), i["passed"])
                 for i in json.loads(result["items"])]
        if not isinstance(item_id, str) or item_id not in {i.item_id for i in items}:
            raise api_error(400, "item_id is not an item of this call's scorecard", "bad_body")
        await conn.execute("INSERT INTO qa_overrides (call_id, item_id, passed, comment, reviewer)"
                           " VALUES ($1, $2, $3, $4, $5)", call_id, item_id, passed, comment.strip(),
                           session.user.login)
        latest = {r["item_id"]: r["passed"] for r in await conn.fetch(
            "SELECT DISTINCT ON (item_id) item_id, passed FROM qa_overrides WHERE call_id = $1"
            " ORDER BY item_id, at DESC, id DESC", call_id)}
        final = total_of(items, latest)
        await conn.execute("UPDATE qa_results SET final_score = $2, reviewer = $3, reviewed_at = now()"
                           " WHERE call_id = $1", call_id, final, session.user.login)
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
