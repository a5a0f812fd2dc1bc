"""From a screen-pop to search words: IVR choices, skill, tier and the order's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.kb.suggest import signals

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)


def delivered(days: float) -> dict[str, object]:
    return {"status": "delivered",
            "shipments": [{"status": "delivered", "delivered_at": (NOW - timedelta(days=days)).isoformat()}]}


def test_damaged_delivery_two_days_ago_in_chinese() -> None:
    found = signals({"call_id": 5, "skill": "delivery", "ivr": {"path": ["main_menu", "damaged_delivery"]},
                     "customer": {"language": "zh", "tier": "standard"}, "orders": [delivered(2)]}, NOW)
    assert {"damaged", "破损", "return", "退货"} <= set(found.words)
    assert found.reasons == ("IVR: damaged_delivery", "skill: delivery", "delivered 2 days ago")
    assert (found.skill, found.language) == ("delivery", "zh-CN")


def test_delivered_long_ago_points_to_warranty() -> None:
    found = signals({"orders": [delivered(40)]}, NOW)
    assert {"warranty", "保修"} <= set(found.words) and "return" not in found.words


@pytest.mark.parametrize(("order", "word", "reason"), [
    ({"status": "paid"}, "cancel", "order paid, not shipped"),
    ({"status": "cancelled"}, "refund", "order cancelled"),
    ({"status": "shipped", "shipments": [{"status": "in_transit",
                                          "status_at": (NOW - timedelta(days=4)).isoformat()}]},
     "delay", "order shipped, not delivered"),
    ({"status": "shipped", "shipments": [{"status": "exception"}]}, "carrier", "order shipped, not delivered"),
])
def test_order_states(order: dict[str, object], word: str, reason: str) -> None:
    found = signals({"orders": [order]}, NOW)
    assert word in found.words and found.reasons == (reason,)


def test_recent_shipment_is_not_a_delay() -> None:
    found = signals({"orders": [{"status": "shipped", "shipments": [
        {"status": "in_transit", "status_at": (NOW - timedelta(hours=20)).isoformat()}]}]}, NOW)
    assert "delay" not in found.words and "delivery" in found.words


def test_vip_and_path_of_objects() -> None:
    found = signals({"ivr": {"path": [{"node": "vip"}, {"id": "refunds"}]},
                     "customer": {"tier": "vip", "language": "en"}}, NOW)
    assert found.words[:3] == ("vip", "refund", "退款") and "VIP customer" in found.reasons
    assert found.language == "en"


@pytest.mark.parametrize("pop", [None, [], "x", {"ivr": 3, "orders": {"a": 1}, "customer": "vip"},
                                 {"orders": [None, 3]}, {"orders": [{"shipments": "x"}]},
                                 {"orders": [{"status": 5, "shipments": [{"delivered_at": "yesterday"}]}]},
                                 {"orders": [{"shipments": [{"delivered_at": "2026-06-09T10:00:00"}]}]},
                                 {"skill": ["x"], "ivr": {"path": [None, 1, {"node": 2}]}}])
def test_malformed_pops_give_no_words_and_no_error(pop: object) -> None:
    found = signals(pop, NOW)
    assert found.words == () and found.reasons == ()
