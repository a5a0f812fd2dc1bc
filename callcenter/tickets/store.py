"""Tickets in PostgreSQL: create, change (every change a history row), list, search, read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from callcenter.clock import utc, wall_time
from callcenter.tickets.workflow import TicketError, check_kind, check_move, reply_due

EDITABLE = ("status", "notes", "subject", "order_id", "kind")
SORTS = {"reply_due": "t.reply_due_at ASC NULLS LAST, t.id", "created": "t.created_at DESC, t.id DESC",
         "updated": "t.updated_at DESC, t.id DESC"}
COLUMNS = """t.id, t.customer_id, t.order_id, t.call_id, t.kind, t.status, t.subject, t.notes,
             t.owner_agent_id, t.reply_due_at, t.created_at, t.updated_at, cu.name AS customer_name,
             cu.phone AS customer_phone, o.order_number, a.login AS owner"""
FROM = """FROM tickets t JOIN customers cu ON cu.id = t.customer_id
          LEFT JOIN orders o ON o.id = t.order_id LEFT JOIN agents a ON a.id = t.owner_agent_id"""


def ticket_json(row: asyncpg.Record, now: datetime | None = None) -> dict[str, Any]:
    now = now or utc(wall_time())
    out: dict[str, Any] = {}
    for key, value in row.items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    due = row["reply_due_at"]
    out["overdue"] = bool(due and due < now and row["status"] not in ("resolved", "closed"))
    return out


class TicketStore:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = wall_time) -> None:
        self._pool = pool
        self._clock = clock

    async def create(self, actor: str, *, customer_id: int, kind: str, subject: str, notes: str = "",
                     order_id: int | None = None, call_id: int | None = None,
                     owner_agent_id: int | None = None) -> dict[str, Any]:
        check_kind(kind)
        subject = subject.strip()
        if not subject or len(subject) > 200:
            raise TicketError("subject must be 1-200 characters", "bad_subject")
        if len(notes) > 10_000:
            raise TicketError("notes must be at most 10,000 characters", "bad_notes")
        now = utc(self._clock())
        async with self._pool.acquire() as conn, conn.transaction():
            if order_id is not None:
                owner = await conn.fetchval("SELECT customer_id FROM orders WHERE id = $1", order_id)
                if owner != customer_id:
                    raise TicketError("the order is not this customer's", "bad_order")
            try:
                ticket_id = await conn.fetchval(
                    """INSERT INTO tickets (customer_id, order_id, call_id, kind, subject, notes,
                                            owner_agent_id, reply_due_at, created_at, updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id""",
                    customer_id, order_id, call_id, kind, subject, notes, owner_agent_id,
                    reply_due(kind, now), now)
            except asyncpg.ForeignKeyViolationError:
                raise TicketError("unknown customer, order or call", "bad_reference") from None
            await conn.execute("INSERT INTO ticket_history (ticket_id, actor, field, old_value, new_value)"
                               " VALUES ($1, $2, 'created', NULL, $3)", ticket_id, actor, kind)
        ticket = await self.get(int(ticket_id))
        assert ticket is not None
        return ticket

    async def update(self, actor: str, ticket_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise TicketError(f"cannot change {', '.join(sorted(unknown))}", "bad_field")
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT * FROM tickets WHERE id = $1 FOR UPDATE", ticket_id)
            if row is None:
                raise TicketError("no such ticket", "not_found")
            history = []
            for field, value in changes.items():
                if field == "status":
                    check_move(row["status"], str(value))
                elif field == "kind":
                    check_kind(str(value))
                elif field == "subject" and (not isinstance(value, str) or not 0 < len(value.strip()) <= 200):
                    raise TicketError("subject must be 1-200 characters", "bad_subject")
                elif field == "notes" and (not isinstance(value, str) or len(value) > 10_000):
                    raise TicketError("notes must be text of at most 10,000 characters", "bad_notes")
                elif field == "order_id" and value is not None:
                    owner = await conn.fetchval("SELECT customer_id FROM orders WHERE id = $1", value)
                    if owner != row["customer_id"]:
                        raise TicketError("the order is not this customer's", "bad_order")
                if row[field] != value:
                    history.append((field, row[field], value))
            for field, old, new in history:
                await conn.execute(f"UPDATE tickets SET {field} = $2 WHERE id = $1", ticket_id, new)
                await conn.execute(
                    "INSERT INTO ticket_history (ticket_id, actor, field, old_value, new_value)"
                    " VALUES ($1, $2, $3, $4, $5)", ticket_id, actor, field,
                    None if old is None else str(old), None if new is None else str(new))
        ticket = await self.get(ticket_id)
        assert ticket is not None
        return ticket

    async def get(self, ticket_id: int) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(f"SELECT {COLUMNS} {FROM} WHERE t.id = $1", ticket_id)
        if row is None:
            return None
        history = await self._pool.fetch(
            "SELECT at, actor, field, old_value, new_value FROM ticket_history WHERE ticket_id = $1"
            " ORDER BY at, id", ticket_id)
        out = ticket_json(row)
        out["history"] = [{"at": h["at"].isoformat(), "actor": h["actor"], "field": h["field"],
                           "old": h["old_value"], "new": h["new_value"]} for h in history]
        return out

    async def search(self, *, text: str = "", status: str = "", kind: str = "",
                     customer_id: int | None = None, visible_to_agent: int | None = None,
                     overdue: bool = False, sort: str = "reply_due", limit: int = 50,
                     offset: int = 0) -> list[dict[str, Any]]:
        where: list[str] = []
        args: list[Any] = []

        def add(clause: str, *values: Any) -> None:
            for value in values:
                args.append(value)
                clause = clause.replace("?", f"${len(args)}", 1)
            where.append(clause)

        if text:
            digits = "".join(c for c in text if c.isdigit() or c == "+")
            add("(to_tsvector('simple', t.subject || ' ' || t.notes) @@ plainto_tsquery('simple', ?)"
                " OR o.order_number = ? OR cu.phone = ? OR t.subject ILIKE '%' || ? || '%')",
                text, text.strip(), digits or text.strip(), _like(text.strip()))
        if status:
            add("t.status = ?", status)
        if kind:
            add("t.kind = ?", kind)
        if customer_id is not None:
            add("t.customer_id = ?", customer_id)
        if visible_to_agent is not None:
            add("(t.owner_agent_id = ? OR t.customer_id IN (SELECT customer_id FROM calls"
                " WHERE agent_id = ? AND customer_id IS NOT NULL))", visible_to_agent, visible_to_agent)
        if overdue:
            where.append("t.reply_due_at < now() AND t.status NOT IN ('resolved', 'closed')")
        order = SORTS.get(sort)
        if order is None:
            raise TicketError(f"sort must be one of {', '.join(SORTS)}", "bad_sort")
        rows = await self._pool.fetch(
            f"SELECT {COLUMNS} {FROM} {'WHERE ' + ' AND '.join(where) if where else ''}"
            f" ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}", *args)
        now = utc(self._clock())
        return [ticket_json(r, now) for r in rows]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
