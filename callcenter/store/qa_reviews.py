"""Scored calls for QA review: the list with filters, one call with its evidence, and the
reviewers' overrides (the final score recomputed with them, in one transaction)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from qa.scorecard.model import ItemResult
from qa.scorecard.score import total_of

LIST_SQL = """SELECT c.id AS call_id, c.linkedid, c.arrived_at, c.caller_number,
                     c.context->>'route.skill' AS skill, a.login AS agent, a.display_name AS agent_name,
                     q.total, q.final_score, q.flags, q.scorecard, q.version, q.reviewer, q.reviewed_at,
                     q.sentiment->>'customer' AS customer_sentiment
              FROM qa_results q JOIN calls c ON c.id = q.call_id
              LEFT JOIN agents a ON a.id = c.agent_id {where}
              ORDER BY c.arrived_at DESC, c.id DESC"""


class NotScored(LookupError):
    """The call has no QA result."""


class UnknownItem(ValueError):
    """The item is not on the call's scorecard."""


@dataclass(frozen=True, slots=True)
class QaFilter:
    since: datetime | None = None
    until: datetime | None = None
    agent: str = ""
    skill: str = ""
    min_score: float | None = None
    max_score: float | None = None
    flag: str = ""
    ended_negative: bool = False

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause (parameterised) and its arguments."""
        where: list[str] = []
        args: list[Any] = []
        for clause, value, used in (("c.arrived_at >= ?", self.since, self.since is not None),
                                    ("c.arrived_at < ?", self.until, self.until is not None),
                                    ("a.login = ?", self.agent, bool(self.agent)),
                                    ("c.context->>'route.skill' = ?", self.skill, bool(self.skill)),
                                    ("q.final_score >= ?", self.min_score, self.min_score is not None),
                                    ("q.final_score <= ?", self.max_score, self.max_score is not None),
                                    ("? = ANY(q.flags)", self.flag, bool(self.flag))):
            if used:
                args.append(value)
                where.append(clause.replace("?", f"${len(args)}"))
        if self.ended_negative:
            where.append("'customer_ended_negative' = ANY(q.flags)")
        return ("WHERE " + " AND ".join(where)) if where else "", args


def review_json(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    out["flags"] = list(row["flags"])
    sentiment = out.pop("customer_sentiment")
    out["customer_sentiment"] = float(sentiment) if sentiment is not None else None
    return out


async def list_reviews(pool: asyncpg.Pool, wanted: QaFilter, limit: int, offset: int = 0
                       ) -> list[dict[str, Any]]:
    """Scored calls, newest first, as :func:`review_json`."""
    where, args = wanted.where()
    rows = await pool.fetch(LIST_SQL.format(where=where) + f" LIMIT {int(limit)} OFFSET {int(offset)}", *args)
    return [review_json(r) for r in rows]


async def review(pool: asyncpg.Pool, call_id: int) -> dict[str, Any] | None:
    """One scored call with its items, sentiment, transcript, overrides, final recordings and
    gaps; None when the call has not been scored."""
    row = await pool.fetchrow(LIST_SQL.format(where="WHERE c.id = $1"), call_id)
    result = await pool.fetchrow(
        "SELECT items, sentiment, model, scored_at FROM qa_results WHERE call_id = $1", call_id)
    if row is None or result is None:
        return None
    utterances = await pool.fetch(
        "SELECT seq, speaker, start_s, end_s, text, sentiment, sentiment_score FROM utterances"
        " WHERE call_id = $1 ORDER BY seq", call_id)
    overrides = await pool.fetch("SELECT item_id, passed, comment, reviewer, at FROM qa_overrides"
                                 " WHERE call_id = $1 ORDER BY at DESC", call_id)
    return {
        **review_json(row),
        "items": json.loads(result["items"]), "sentiment": json.loads(result["sentiment"]),
        "model": result["model"], "scored_at": result["scored_at"].isoformat(),
        "utterances": [{"seq": u["seq"], "speaker": u["speaker"], "start": u["start_s"], "end": u["end_s"],
                        "text": u["text"], "sentiment": u["sentiment"], "score": u["sentiment_score"]}
                       for u in utterances],
        "overrides": [{"item_id": o["item_id"], "passed": o["passed"], "comment": o["comment"],
                       "reviewer": o["reviewer"], "at": o["at"].isoformat()} for o in overrides],
    }


async def add_override(pool: asyncpg.Pool, call_id: int, item_id: object, passed: bool, comment: str,
                       reviewer: str) -> float | None:
    """Store a reviewer's verdict on one item and return the new final score (None when no item applies).

    Raises:
        NotScored: the call has no QA result.
        UnknownItem: ``item_id`` is not on the call's scorecard.
    """
    async with pool.acquire() as conn, conn.transaction():
        result = await conn.fetchrow("SELECT items FROM qa_results WHERE call_id = $1 FOR UPDATE", call_id)
        if result is None:
            raise NotScored(call_id)
        items = [ItemResult(i["item_id"], i["label"], float(i["weight"]), i["passed"])
                 for i in json.loads(result["items"])]
        if not isinstance(item_id, str) or item_id not in {i.item_id for i in items}:
            raise UnknownItem(item_id)
        await conn.execute("INSERT INTO qa_overrides (call_id, item_id, passed, comment, reviewer)"
                           " VALUES ($1, $2, $3, $4, $5)", call_id, item_id, passed, comment, reviewer)
        latest = {r["item_id"]: r["passed"] for r in await conn.fetch(
            "SELECT DISTINCT ON (item_id) item_id, passed FROM qa_overrides WHERE call_id = $1"
            " ORDER BY item_id, at DESC, id DESC", call_id)}
        final = total_of(items, latest)
        await conn.execute("UPDATE qa_results SET final_score = $2, reviewer = $3, reviewed_at = now()"
                           " WHERE call_id = $1", call_id, final, reviewer)
    return final
