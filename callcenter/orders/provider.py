"""The order-context provider interface.

The IVR (``lookup`` nodes) and the agent screen-pop read the shop's data through this Protocol;
the built-in implementation is :class:`callcenter.orders.postgres.PgOrderContextProvider`, and an
HTTP provider for a shop's own API can implement the same two methods.

Implementations raise :class:`OrderLookupError` when the source cannot answer (database down,
HTTP error or timeout). "Not found" is ``None``, never an exception.
"""

from __future__ import annotations

from typing import Protocol

from callcenter.orders.model import CustomerContext, OrderContext


class OrderLookupError(Exception):
    """The order source could not answer; the caller should carry on without the context."""


class OrderContextProvider(Protocol):
    async def customer_by_phone(self, phone: str) -> CustomerContext | None:
        """The customer whose phone matches the caller's number (any usual spelling of it:
        ``+86…``, ``0086…``, national), with their recent orders. When several customers share
        the number, the one with the most recent order."""
        ...

    async def order_by_number(self, number: str) -> OrderContext | None:
        """The order with this order number, with its items, shipments and customer."""
        ...
