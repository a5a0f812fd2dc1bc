"""The screen-pop's content (pure): who calls, what they did in the IVR, their profile,
orders with items and shipments, and open tickets with their deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from callcenter.orders.model import Customer, CustomerContext, Order, OrderContext


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_json(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "name": customer.name, "phone": customer.phone, "email": customer.email,
            "tier": customer.tier, "language": customer.language}


def order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id, "number": order.number, "status": order.status, "total_cents": order.total_cents,
        "currency": order.currency, "placed_at": _iso(order.placed_at),
        "items": [{"sku": i.sku, "title": i.title, "quantity": i.quantity, "amount_cents": i.amount_cents}
                  for i in order.items],
        "shipments": [{"carrier": s.carrier, "tracking_number": s.tracking_number, "status": s.status,
                       "status_at": _iso(s.status_at), "delivered_at": _iso(s.delivered_at)}
                      for s in order.shipments],
    }


def ivr_json(summary: dict[str, Any]) -> dict[str, Any]:
    context = summary.get("context", {})
    steps = summary.get("steps", [])
    return {"language": summary.get("language", ""), "path": [s.get("node", "") for s in steps],
            "steps": steps, "order_number": context.get("order.number"),
            "topic": context.get("route.skill") or context.get("topic"),
            "transfer": {"by": context.get("transfer.by"), "note": context.get("transfer.note"),
                         "skill": context.get("transfer.skill")}
            if context.get("transferred") else None,
            "context": {k: v for k, v in context.items() if not k.startswith("secret")}}


def context_json(found: CustomerContext | None, asked: OrderContext | None, status: str,
                 tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """``status``: ok, unknown_caller, pending (the shop has not answered yet), unavailable."""
    customer = found.customer if found else asked.customer if asked else None
    orders = list(found.orders) if found else []
    if asked is not None and all(o.id != asked.order.id for o in orders):
        orders.insert(0, asked.order)
    elif asked is not None:  # the order the caller typed goes first
        orders.sort(key=lambda o: o.id != asked.order.id)
    return {"context": {"status": status}, "customer": customer_json(customer) if customer else None,
            "orders": [order_json(o) for o in orders], "tickets": tickets}
