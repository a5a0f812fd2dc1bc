"""What is left of a route's max_wait when a restarted server holds a queued caller on."""

from __future__ import annotations

from datetime import timedelta

from ivr.hold import remaining_wait
from tests.ivr.helpers import MONDAY_10


def test_given_caller_queued_two_minutes_ago_then_the_rest_of_max_wait_is_left() -> None:
    assert remaining_wait(300, MONDAY_10 - timedelta(seconds=120), MONDAY_10) == 180


def test_given_max_wait_already_passed_then_one_second_so_the_router_is_asked_at_once() -> None:
    assert remaining_wait(300, MONDAY_10 - timedelta(seconds=301), MONDAY_10) == 1


def test_given_no_max_wait_then_no_limit_and_unknown_start_then_the_whole_max_wait() -> None:
    assert remaining_wait(None, MONDAY_10, MONDAY_10) is None
    assert remaining_wait(300, None, MONDAY_10) == 300
