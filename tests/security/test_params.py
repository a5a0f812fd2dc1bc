"""Query parameters are parsed one way by every API: a bad value is a 400 that names it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from callcenter.web.params import (
    query_choice,
    query_flag,
    query_float,
    query_int,
    query_text,
    query_time,
)


def _request(query: str) -> web.Request:
    return make_mocked_request("GET", f"/api/x?{query}")


def _refused(call: Callable[[], object]) -> dict[str, object]:
    with pytest.raises(web.HTTPBadRequest) as refused:
        call()
    assert refused.value.text is not None
    body: dict[str, object] = json.loads(refused.value.text)
    assert body["error_id"] == "bad_parameter"
    return body


def test_given_absent_or_empty_parameters_then_the_defaults() -> None:
    request = _request("limit=&state=")
    assert query_int(request, "limit", 50, 1, 500) == 50
    assert query_float(request, "target_s", 20.0, 0, 3600) == 20.0
    assert query_time(request, "from") is None
    assert query_choice(request, "state", ("ivr", "ended")) is None
    assert query_text(request, "q", 10) == ""
    assert query_flag(request, "overdue") is False


def test_given_good_values_then_typed_values() -> None:
    request = _request("limit=7&target_s=2.5&from=2026-01-02T03:04:05%2B00:00&state=ended&q=abc&overdue=true")
    assert query_int(request, "limit", 50, 1, 500) == 7
    assert query_float(request, "target_s", 20.0, 0, 3600) == 2.5
    assert query_time(request, "from") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert query_choice(request, "state", ("ivr", "ended")) == "ended"
    assert query_text(request, "q", 10) == "abc"
    assert query_flag(request, "overdue") is True


@pytest.mark.parametrize(("query", "parse", "says"), [
    ("limit=٤", lambda r: query_int(r, "limit", 50, 1, 500), "limit must be an integer"),
    ("limit=501", lambda r: query_int(r, "limit", 50, 1, 500), "limit must be between 1 and 500"),
    ("t=x", lambda r: query_float(r, "t", 1.0, 0, 10), "t must be a number"),
    ("t=11", lambda r: query_float(r, "t", 1.0, 0, 10), "t must be between 0 and 10"),
    ("from=yesterday", lambda r: query_time(r, "from"), "from must be an ISO 8601 time"),
    ("from=2026-01-02T03:04:05", lambda r: query_time(r, "from"), "from needs a time zone"),
    ("state=lost", lambda r: query_choice(r, "state", ("ivr", "ended")), "state must be one of ivr, ended"),
    ("q=" + "x" * 11, lambda r: query_text(r, "q", 10), "q is too long"),
])
def test_given_a_bad_value_then_400_naming_the_parameter(query: str, parse: Callable[[web.Request], object],
                                                         says: str) -> None:
    request = _request(query)
    body = _refused(lambda: parse(request))
    assert str(body["message"]).startswith(says)
    assert body["parameter"] == query.split("=")[0]
