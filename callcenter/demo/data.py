"""Deterministic demo data for the shop behind the phone line: customers, orders with items,
shipments with tracking states, and open after-sales tickets.

Pure: :func:`generate` returns plain rows; :mod:`callcenter.demo.seed` writes them. The same
seed always gives the same data, so the demo's scripted callers (whose numbers come from
:func:`caller_numbers`) find themselves in the shop's records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from callcenter.clock import utc, wall_time

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明"]
ENGLISH = ["Alice Chen", "Bob Li", "Carol Wang", "David Zhang", "Emma Liu", "Frank Huang", "Grace Zhou",
           "Henry Wu", "Iris Xu", "Jack Sun", "Kate Ma", "Leo Zhu", "Mia Hu", "Nina Guo", "Oscar Lin"]
PRODUCTS = [
    ("BLD-200", "Blender 1.5 L", "搅拌机 1.5升", 39900),
    ("HPH-310", "Wireless headphones", "无线耳机", 59900),
    ("KTL-110", "Electric kettle", "电热水壶", 14900), ("VAC-700", "Robot vacuum", "扫地机器人", 199900),
    ("RCK-050", "Rice cooker", "电饭煲", 29900), ("PHN-CASE", "Phone case", "手机壳", 4900),
    ("AIR-900", "Air purifier", "空气净化器", 129900), ("LMP-020", "Desk lamp", "台灯", 8900),
    ("SHO-442", "Running shoes", "跑步鞋", 49900), ("BAG-301", "Backpack", "双肩包", 25900),
    ("TBL-800", "Tablet 10 inch", "10英寸平板", 249900), ("WCH-150", "Smart watch", "智能手表", 99900),
]
CARRIERS = [("SF Express", "SF"), ("JD Logistics", "JD"), ("ZTO Express", "ZT"), ("YTO Express", "YT"),
            ("China Post EMS", "EM")]
ORDER_STATUSES = ["paid", "shipped", "delivered", "delivered", "delivered", "return_requested", "refunded",
                  "cancelled"]
SHIPMENT_BY_ORDER = {
    "paid": ["label_created"], "shipped": ["in_transit", "out_for_delivery", "delayed", "lost"],
    "delivered": ["delivered"], "return_requested": ["delivered"], "refunded": ["returned_to_sender"],
    "cancelled": [],
}
TICKET_KINDS = ["return", "refund", "exchange", "repair", "complaint", "inquiry"]
TICKET_SUBJECTS = {
    "return": "Return request: wrong size", "refund": "Refund not received yet",
    "exchange": "Exchange for a different colour", "repair": "Device stopped working",
    "complaint": "Parcel arrived damaged", "inquiry": "Where is my parcel?",
}
REPLY_DAYS = {"complaint": 7, "refund": 3, "return": 5, "exchange": 5, "repair": 10, "inquiry": 2}


@dataclass
class DemoData:
    customers: list[tuple[int, str, str, str | None, str, str, datetime]] = field(default_factory=list)
    orders: list[tuple[int, str, int, str, int, str, datetime]] = field(default_factory=list)
    items: list[tuple[int, str, str, int, int]] = field(default_factory=list)
    shipments: list[tuple[int, str, str | None, str, datetime | None, datetime | None]] = field(
        default_factory=list)
    tickets: list[tuple[int, int | None, str, str, str, str, datetime, datetime]] = field(
        default_factory=list)


def phone_for(index: int) -> str:
    """The demo customer number ``index``: mainland mobile numbers 138 0000 0001 …"""
    return f"1380000{index:04d}"


def caller_numbers(count: int) -> list[str]:
    return [phone_for(i) for i in range(1, count + 1)]


def order_number_for(customer: int, nth: int) -> str:
    """Order numbers are eight digits, so a caller can key them in on the phone."""
    return f"{10000000 + customer * 10 + nth}"


def generate(customers: int = 200, seed: int = 7, now: datetime | None = None) -> DemoData:
    """Build the demo shop. ``now`` anchors all dates (defaults to the wall clock's time)."""
    rng = random.Random(seed)
    now = now or utc(wall_time())
    data = DemoData()
    for c in range(1, customers + 1):
        chinese = rng.random() < 0.6
        name = (rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])) if chinese \
            else rng.choice(ENGLISH)
        tier = "vip" if c % 10 == 3 else "standard"
        email = None if rng.random() < 0.2 else f"customer{c}@example.com"
        data.customers.append((c, phone_for(c), name, email, tier, "zh" if chinese else "en",
                               now - timedelta(days=rng.randint(30, 900))))
        for nth in range(1, rng.randint(1, 4) + 1):
            _order(data, rng, c, nth, now)
    return data


def _order(data: DemoData, rng: random.Random, customer: int, nth: int, now: datetime) -> None:
    order_id = len(data.orders) + 1
    status = rng.choice(ORDER_STATUSES)
    placed = now - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23))
    total = 0
    for sku, title_en, title_zh, cents in rng.sample(PRODUCTS, rng.randint(1, 3)):
        quantity = 1 if cents > 20000 else rng.randint(1, 3)
        title = title_zh if rng.random() < 0.5 else title_en
        data.items.append((order_id, sku, title, quantity, cents))
        total += quantity * cents
    data.orders.append((order_id, order_number_for(customer, nth), customer, status, total, "CNY", placed))
    for shipment_status in SHIPMENT_BY_ORDER[status]:
        carrier, prefix = rng.choice(CARRIERS)
        status_at = placed + timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 12))
        delivered = status_at if shipment_status == "delivered" else None
        data.shipments.append((order_id, carrier, f"{prefix}{rng.randint(10**11, 10**12 - 1)}",
                               shipment_status, min(status_at, now), delivered))
    if status in ("return_requested", "refunded") or rng.random() < 0.12:
        kind = rng.choice(TICKET_KINDS) if status not in ("return_requested", "refunded") else \
            ("return" if status == "return_requested" else "refund")
        created = min(now, placed + timedelta(days=rng.randint(2, 10)))
        ticket_status = "resolved" if status == "refunded" else rng.choice(
            ["open", "open", "in_progress", "waiting_customer"])
        data.tickets.append((customer, order_id, kind, ticket_status, TICKET_SUBJECTS[kind],
                             "Opened by the demo data.", created,
                             created + timedelta(days=REPLY_DAYS[kind])))
