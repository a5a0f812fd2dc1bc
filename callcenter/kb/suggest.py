"""What to look up for a call as it pops (pure: pop JSON in, search terms and reasons out).

Signals, each adding words in both languages so one query serves English and Chinese articles:
the IVR choices on the caller's path (``damaged_delivery``, ``returns``…), the routing skill,
a VIP tier, and the state of the most recent order (not shipped yet → cancellation; in transit
for days → carrier delay; delivered within the 7-day return window → returns, later →
warranty/repair). The pop comes from the browser, so every field may be missing or of the
wrong type; such fields are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# IVR nodes and skills -> words found in the articles
TOPICS: dict[str, tuple[str, ...]] = {
    "return": ("return", "退货"), "returns": ("return", "退货"),
    "refund": ("refund", "退款"), "refunds": ("refund", "退款"),
    "late_delivery": ("carrier", "delay", "延误", "物流"),
    "delivery": ("delivery", "carrier", "快递", "物流"),
    "damaged_delivery": ("damaged", "破损", "损坏"),
    "complaint": ("complaint", "投诉"), "complaints": ("complaint", "投诉"),
    "vip": ("vip",),
    "exchange": ("exchange", "换货"), "repair": ("repair", "warranty", "维修", "保修"),
    "invoice": ("invoice", "发票"), "cancel": ("cancel", "取消订单"),
    "orders": ("order", "订单"), "to_orders": ("order", "订单"),
}
RETURN_WINDOW_DAYS = 7
DELAYED_AFTER_DAYS = 3


@dataclass(frozen=True)
class Signals:
    """Words to search for, why, and the skill and language of the call."""

    words: tuple[str, ...]
    reasons: tuple[str, ...]
    skill: str | None = None
    language: str | None = None
    order_state: dict[str, Any] = field(default_factory=dict)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _time(value: Any) -> datetime | None:
    text = _str(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _path_nodes(ivr: Any) -> list[str]:
    path = ivr.get("path") if isinstance(ivr, dict) else None
    nodes: list[str] = []
    for step in path if isinstance(path, list) else []:
        name = _str(step) or (_str(step.get("node")) or _str(step.get("id"))
                              if isinstance(step, dict) else None)
        if name:
            nodes.append(name)
    return nodes


def _language(customer: Any) -> str | None:
    lang = _str(customer.get("language")) if isinstance(customer, dict) else None
    if lang is None:
        return None
    return "zh-CN" if lang.lower().startswith("zh") else "en" if lang.lower().startswith("en") else None


def _order_words(orders: Any, now: datetime) -> tuple[list[str], list[str], dict[str, Any]]:
    if not isinstance(orders, list) or not orders or not isinstance(orders[0], dict):
        return [], [], {}
    order = orders[0]
    status = (_str(order.get("status")) or "").lower()
    shipments = [s for s in order.get("shipments") or [] if isinstance(s, dict)] \
        if isinstance(order.get("shipments"), list) else []
    delivered = [t for t in (_time(s.get("delivered_at")) for s in shipments) if t is not None]
    if delivered:
        days = max(0, (now - max(delivered)).days)
        state = {"order_status": status, "delivered_days_ago": days}
        if days <= RETURN_WINDOW_DAYS:
            return (["return", "退货", "exchange", "换货", "damaged", "破损"],
                    [f"delivered {days} days ago"], state)
        return ["warranty", "repair", "保修", "维修"], [f"delivered {days} days ago"], state
    if status in ("cancelled", "canceled", "refunded"):
        return ["refund", "退款"], [f"order {status}"], {"order_status": status}
    moving = [s for s in shipments if (_str(s.get("status")) or "").lower()
              in ("in_transit", "shipped", "out_for_delivery", "exception", "delayed")]
    if moving or status in ("shipped", "in_transit"):
        since = [t for t in (_time(s.get("status_at")) for s in moving) if t is not None]
        waited = (now - min(since)).days if since else None
        if (waited is not None and waited >= DELAYED_AFTER_DAYS) or any(
                (_str(s.get("status")) or "") in ("exception", "delayed") for s in moving):
            return (["carrier", "delay", "延误", "物流"], [f"order {status or 'shipped'}, not delivered"],
                    {"order_status": status})
        return ["delivery", "物流"], [f"order {status or 'shipped'}"], {"order_status": status}
    if status in ("pending", "paid", "processing", "placed", "confirmed"):
        return ["cancel", "取消订单"], [f"order {status}, not shipped"], {"order_status": status}
    return [], [], {"order_status": status} if status else {}


def signals(pop: Any, now: datetime) -> Signals:
    """The search words for a screen-pop (see the module docstring)."""
    if not isinstance(pop, dict):
        return Signals((), ())
    words: list[str] = []
    reasons: list[str] = []
    for node in _path_nodes(pop.get("ivr")):
        if node in TOPICS:
            words.extend(TOPICS[node])
            reasons.append(f"IVR: {node}")
    skill = _str(pop.get("skill"))
    if skill:
        words.extend(TOPICS.get(skill, (skill.replace("_", " "),)))
        reasons.append(f"skill: {skill}")
    customer = pop.get("customer")
    if isinstance(customer, dict) and _str(customer.get("tier")) == "vip":
        words.append("vip")
        reasons.append("VIP customer")
    order_words, order_reasons, state = _order_words(pop.get("orders"), now)
    words.extend(order_words)
    reasons.extend(order_reasons)
    unique = tuple(dict.fromkeys(w for w in words if w))
    return Signals(unique, tuple(dict.fromkeys(reasons)), skill, _language(customer), state)
