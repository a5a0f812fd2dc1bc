"""What the agent console reads and writes on the stored calls: the call's row id for the pop,
who took the call and who called, and the caller's open tickets."""

from __future__ import annotations

from typing import Any, Protocol

OPEN_TICKETS_SQL = """
SELECT t.id, t.kind, t.status, t.subject, t.reply_due_at, o.order_number
FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
WHERE t.customer_id = $1 AND t.status NOT IN ('resolved', 'closed')
ORDER BY t.reply_due_at NULLS LAST, t.id LIMIT 10"""


class ConsoleDb(Protocol):
    """What the console needs of the database: an ``asyncpg.Pool`` (or a test's stand-in)."""

    async def fetchval(self, query: str, *args: Any) -> Any: ...

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def execute(self, query: str, *args: Any) -> str: ...


async def call_row_id(pool: ConsoleDb, linkedid: str) -> int | None:
    value: int | None = await pool.fetchval("SELECT id FROM calls WHERE linkedid = $1", linkedid)
    return value


async def set_call_agent(pool: ConsoleDb, linkedid: str, agent_login: str) -> None:
    """The agent who answered, on the call row (the call store leaves this column alone)."""
    await pool.execute(
        "UPDATE calls SET agent_id = (SELECT id FROM agents WHERE login = $2) WHERE linkedid = $1",
        linkedid, agent_login)


async def set_call_customer(pool: ConsoleDb, linkedid: str, customer_id: int) -> None:
    """The caller's customer, on the call row, unless one is there already.

    Raises:
        asyncpg.ForeignKeyViolationError: a customer unknown to this database.
    """
    await pool.execute("UPDATE calls SET customer_id = $2 WHERE linkedid = $1 AND customer_id IS NULL",
                       linkedid, customer_id)


async def open_tickets(pool: ConsoleDb, customer_id: int) -> list[dict[str, Any]]:
    """The customer's ten most urgent unresolved tickets, as the pop shows them."""
    rows = await pool.fetch(OPEN_TICKETS_SQL, customer_id)
    return [{"id": r["id"], "kind": r["kind"], "status": r["status"], "subject": r["subject"],
             "order_number": r["order_number"],
             "reply_due_at": r["reply_due_at"].isoformat() if r["reply_due_at"] else None}
            for r in rows]
