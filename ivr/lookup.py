"""Order-context results as IVR context values (pure).

A caller lookup fills ``customer.*`` (and ``last_order.*`` for their newest order); an order
lookup fills ``order.*`` and ``shipment.*`` (its latest shipment) and never overwrites
``customer.*``: the caller may ask about somebody else's parcel. ``order.customer_id`` and
``order.customer_tier`` tell whose order it is.
"""

from __future__ import annotations

from datetime import datetime

from callcenter.orders.model import CustomerContext, Order, OrderContext
from ivr.model import Scalar


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None


def order_values(order: Order, prefix: str = "order") -> dict[str, Scalar]:
    values: dict[str, Scalar] = {
        f"{prefix}.number": order.number, f"{prefix}.status": order.status,
        f"{prefix}.total_cents": order.total_cents, f"{prefix}.currency": order.currency,
        f"{prefix}.placed_at": _day(order.placed_at), f"{prefix}.items": len(order.items),
    }
    shipment = order.latest_shipment
    ship = "shipment" if prefix == "order" else f"{prefix}.shipment"
    if shipment is not None:
        values.update({f"{ship}.status": shipment.status, f"{ship}.carrier": shipment.carrier,
                       f"{ship}.tracking_number": shipment.tracking_number,
                       f"{ship}.status_at": _day(shipment.status_at),
                       f"{ship}.delivered_at": _day(shipment.delivered_at)})
    return values


def customer_values(found: CustomerContext) -> dict[str, Scalar]:
    customer = found.customer
    values: dict[str, Scalar] = {
        "customer.id": customer.id, "customer.name": customer.name, "customer.tier": customer.tier,
        "customer.language": customer.language, "customer.orders": len(found.orders),
    }
    if found.orders:
        values.update(order_values(found.orders[0], prefix="last_order"))
    return values


def order_context_values(found: OrderContext) -> dict[str, Scalar]:
    values = order_values(found.order)
    values["order.customer_id"] = found.customer.id
    values["order.customer_tier"] = found.customer.tier
    return values
