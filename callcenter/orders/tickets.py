"""Callback tickets from the IVR: ``tickets`` rows of kind ``callback`` (with
``callback_number``, migration 002).

A ticket needs a customer (``tickets.customer_id`` is NOT NULL). The caller is matched by the
customer the IVR already identified, else by the number to call back; an unknown caller gets a
minimal customer row (name "Unknown caller", the number) so that the callback is not lost and the
agent who calls back can complete the profile. The order is linked only when it belongs to that
customer (the table's foreign key demands it); otherwise its number goes into the notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from callcenter.orders.phone import HOME_COUNTRY_CODE, normalize, phone_candidates
from callcenter.orders.provider import OrderLookupError

_FIND_CUSTOMER = "SELECT id FROM customers WHERE phone = ANY($1::text[]) ORDER BY id DESC LIMIT 1"
_NEW_CUSTOMER = """
INSERT INTO customers (phone, name, language) VALUES ($1, $2, $3) RETURNING id
"""
_ORDER_OF = "SELECT id, customer_id FROM orders WHERE order_number = $1"
_INSERT = """
INSERT INTO tickets (customer_id, order_id, call_id, kind, subject, notes, reply_due_at, callback_number)
VALUES ($1, $2, (SELECT id FROM calls WHERE linkedid = $3), 'callback', $4, $5, now() + $6::interval, $7)
RETURNING id
"""
_HISTORY = """
INSERT INTO ticket_history (ticket_id, actor, field, old_value, new_value)
VALUES ($1, 'ivr', 'status', NULL, 'open')
"""
_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, asyncpg.PostgresError,
                                            asyncpg.InterfaceError)


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A caller asked to be called back (or left a voicemail).

    ``call_id`` is the call's Linkedid; ``number`` the digits to call ('' when unknown).
    """

    call_id: str
    number: str
    reason: str
    language: str = "en"
    customer_id: int | None = None
    order_number: str | None = None
    voicemail: str | None = None
    caller_name: str = ""


def ticket_notes(request: CallbackRequest, order_linked: bool) -> str:
    lines = [f"Call back on: {request.number or 'unknown number'}",
             f"Caller's language: {request.language}"]
    if request.order_number:
        suffix = "" if order_linked else " (not this customer's order: not linked)"
        lines.append(f"Order: {request.order_number}{suffix}")
    if request.voicemail:
        lines.append(f"Voicemail: {request.voicemail}")
    lines.append(f"Requested in the IVR during call {request.call_id}")
    return "\n".join(lines)


class CallbackTickets:
    """Writes callback tickets; implements the IVR's ``CallbackSink``.

    Args:
        pool: asyncpg pool on the migrated database.
        reply_within: ``reply_due_at`` is this long after creation.
        country_code: the home calling code, to match the number to a stored customer.
    """

    def __init__(self, pool: asyncpg.Pool, reply_within: timedelta = timedelta(hours=24),
                 country_code: str = HOME_COUNTRY_CODE, timeout_s: float = 5.0) -> None:
        self._pool = pool
        self._due = reply_within
        self._country = country_code
        self._timeout = timeout_s

    async def create_callback(self, request: CallbackRequest) -> int:
        """Insert the ticket (and, for an unknown caller, a minimal customer); returns its id.

        Raises:
            OrderLookupError: the database could not take the ticket.
        """
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                customer_id = request.customer_id or await self._customer(conn, request)
                order_id = None
                if request.order_number:
                    order = await conn.fetchrow(_ORDER_OF, request.order_number, timeout=self._timeout)
                    if order is not None and order["customer_id"] == customer_id:
                        order_id = order["id"]
                ticket_id: int = await conn.fetchval(
                    _INSERT, customer_id, order_id, request.call_id, request.reason[:200],
                    ticket_notes(request, order_id is not None), self._due,
                    normalize(request.number) or None, timeout=self._timeout)
                await conn.execute(_HISTORY, ticket_id, timeout=self._timeout)
        except _ERRORS as exc:
            raise OrderLookupError(f"callback ticket not created: {type(exc).__name__}: {exc}") from exc
        return ticket_id

    async def _customer(self, conn: asyncpg.Connection, request: CallbackRequest) -> int:
        candidates = phone_candidates(request.number, self._country)
        if candidates:
            found = await conn.fetchval(_FIND_CUSTOMER, candidates, timeout=self._timeout)
            if found is not None:
                return int(found)
        phone = normalize(request.number) or None
        name = request.caller_name.strip() or "Unknown caller"
        new_id: int = await conn.fetchval(_NEW_CUSTOMER, phone, name[:200], request.language or "en",
                                          timeout=self._timeout)
        return new_id
