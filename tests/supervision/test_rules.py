"""Which mode a live spy goes back to when its switch cannot be recorded (pure)."""

from __future__ import annotations

import pytest

from callcenter.supervision.errors import AlreadyMonitoring, BargeTaken, PbxUnavailable
from callcenter.supervision.model import Mode
from callcenter.supervision.rules import fallback_mode


@pytest.mark.parametrize("previous", [Mode.LISTEN, Mode.WHISPER])
def test_given_the_database_refusing_a_barge_then_the_spy_goes_back_to_its_previous_mode(previous: Mode) -> None:
    assert fallback_mode(previous, Mode.BARGE, BargeTaken("taken")) is previous


@pytest.mark.parametrize(("previous", "wanted", "error"), [
    (Mode.LISTEN, Mode.BARGE, OSError("connection lost")),  # no row at all: not a refusal
    (Mode.LISTEN, Mode.BARGE, AlreadyMonitoring("one phone")),
    (Mode.LISTEN, Mode.BARGE, PbxUnavailable("link down")),
    (Mode.LISTEN, Mode.WHISPER, BargeTaken("taken")),  # only a barge can be taken
    (Mode.BARGE, Mode.BARGE, BargeTaken("taken")),  # nothing to go back to
])
def test_given_any_other_failure_then_no_mode_to_go_back_to(previous: Mode, wanted: Mode,
                                                           error: Exception) -> None:
    assert fallback_mode(previous, wanted, error) is None
