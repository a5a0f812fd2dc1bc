"""What a restarted server queues a held caller with: the IVR's last stored ``queued`` step."""

from __future__ import annotations

import json

from callcenter.server.resync import queued_place, queued_requirements
from ivr.effects import HeldPlace, RouteRequirements


def test_given_stored_path_then_last_queued_step_gives_the_requirements() -> None:
    path = [{"at": "t0", "node": "menu", "kind": "input"},
            {"at": "t1", "node": "to_orders", "kind": "queued", "skill": "orders", "min_level": 2,
             "language": "zh", "priority": 0, "tags": []},
            {"at": "t2", "node": "fallback", "kind": "queued", "skill": "general", "min_level": 1,
             "language": "en", "priority": 5, "tags": ["vip"]}]
    assert queued_requirements(path) == RouteRequirements("general", 1, "en", 5, ("vip",))
    assert queued_requirements(json.dumps(path)) == RouteRequirements("general", 1, "en", 5, ("vip",))


def test_given_path_without_queued_step_then_nothing_to_requeue() -> None:
    assert queued_requirements([{"node": "menu", "kind": "input"}]) is None
    assert queued_requirements([]) is None
    assert queued_requirements(None) is None


def test_given_stored_path_then_the_held_place_names_the_route_node_it_was_queued_at() -> None:
    path = [{"at": "t1", "node": "to_orders", "kind": "queued", "skill": "orders", "min_level": 2,
             "language": "zh", "priority": 0, "tags": []}]
    assert queued_place(path) == HeldPlace(RouteRequirements("orders", 2, "zh", 0, ()), "to_orders")
    assert queued_place([{"node": "menu", "kind": "input"}]) is None
