"""What a restarted server queues a held caller with: the IVR's last stored ``queued`` step."""

from __future__ import annotations

import json
from datetime import UTC, datetime

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


def test_given_stored_queued_step_with_music_and_max_wait_then_the_held_place_keeps_them_and_the_wait_start() -> None:
    path = [{"at": "2026-11-23T02:00:00.000+00:00", "node": "vip_route", "kind": "queued", "skill": "vip",
             "min_level": 3, "language": "en", "priority": 9, "tags": ["vip"], "hold": "vip-music",
             "max_wait": 300}]
    assert queued_place(path) == HeldPlace(RouteRequirements("vip", 3, "en", 9, ("vip",)), "vip_route",
                                           "vip-music", 300, datetime(2026, 11, 23, 2, tzinfo=UTC))


def test_given_queued_step_stored_before_music_and_max_wait_were_kept_then_default_music_without_limit() -> None:
    path = [{"at": "t1", "node": "to_orders", "kind": "queued", "skill": "orders"}]
    place = queued_place(path)
    assert place is not None and (place.hold, place.max_wait_s, place.queued_at) == ("default", None, None)


def test_given_a_damaged_queued_step_then_defaults_stand_in_and_nothing_raises() -> None:
    path = [{"at": "not a time", "node": "to_orders", "kind": "queued", "skill": "orders", "min_level": "two",
             "language": None, "priority": [1], "tags": "vip", "hold": "", "max_wait": "soon"}]
    place = queued_place(path)
    assert place is not None
    assert place.requirements == RouteRequirements("orders", 1, "en", 0, ())
    assert (place.hold, place.max_wait_s, place.queued_at) == ("default", None, None)
    assert queued_place("{not json") is None
    assert queued_place({"kind": "queued"}) is None
