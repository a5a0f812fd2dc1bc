"""What an order-context provider returns: customers, orders with items, shipments (frozen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    phone: str | None
    email: str | None
    tier: str  # standard | vip
    language: str  # en, zh, …


@dataclass(frozen=True, slots=True)
class OrderItem:
    sku: str
    title: str
    quantity: int
    unit_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_cents


@dataclass(frozen=True, slots=True)
class Shipment:
    carrier: str
    tracking_number: str | None
    status: str  # label_created, in_transit, out_for_delivery, delayed, lost, delivered, …
    status_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Order:
    """An order; ``shipments`` newest status first."""

    id: int
    number: str
    status: str
    total_cents: int
    currency: str
    placed_at: datetime
    items: tuple[OrderItem, ...] = ()
    shipments: tuple[Shipment, ...] = ()

    @property
    def latest_shipment(self) -> Shipment | None:
        return self.shipments[0] if self.shipments else None

    @property
    def items_cents(self) -> int:
        return sum(item.amount_cents for item in self.items)


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """A customer with their most recent orders (newest first)."""

    customer: Customer
    orders: tuple[Order, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderContext:
    """An order with the customer who placed it."""

    order: Order
    customer: Customer
