"""Digits keyed during a sensitive IVR step never reach the event log or the call record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from callcenter.ami.agi import parse_agi_result
from callcenter.calls.dispatch import CallDispatcher
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.redact import redact
from callcenter.calls.tracker import CallTracker
from callcenter.store.events import EventRow
from tests.unit.test_tracker_offers import caller, ev


class Rows:
    def __init__(self) -> None:
        self.rows: list[EventRow] = []

    def add(self, row: EventRow) -> None:
        self.rows.append(row)

    def statistics(self) -> dict[str, int]:
        return {"pending": len(self.rows)}


def test_redact_masks_dtmf_and_get_data_results() -> None:
    dtmf = redact(ev(1.0, "DTMFEnd", Channel="PJSIP/pstn-1", Digit="4", Direction="Received"))
    assert dtmf.get("Digit") == "*" and "Digit: 4" not in dtmf.frame.raw
    result = redact(ev(1.0, "AsyncAGIExec", Channel="PJSIP/pstn-1", Result="200%20result%3D4111111111111111%0A"))
    assert parse_agi_result(result.get("Result")).value == "*" * 16
    assert "4111" not in result.frame.raw


def test_given_sensitive_input_then_stored_rows_and_call_digits_are_masked() -> None:
    tracker = CallTracker()
    rows = Rows()
    sensitive = {"on": False}
    recorder = CallRecorder(tracker, rows, calls=None)
    dispatcher = CallDispatcher(tracker, recorder, sensitive=lambda ch: sensitive["on"])
    chan = caller(tracker, 0.0, 1)
    uid = "1700000000.1"
    common: dict[str, Any] = {"Channel": chan, "Uniqueid": uid, "Linkedid": uid, "Direction": "Received"}
    dispatcher.on_ami_event(ev(1.0, "DTMFEnd", Digit="1", **common))
    sensitive["on"] = True
    for digit in "4111":
        dispatcher.on_ami_event(ev(2.0, "DTMFEnd", Digit=digit, **common))
    dispatcher.on_ami_event(ev(3.0, "AsyncAGIExec", Result="200%20result%3D4111%0A", CommandId="c1", **common))
    sensitive["on"] = False
    dispatcher.on_ami_event(ev(4.0, "DTMFEnd", Digit="2", **common))
    assert tracker.calls[uid].digits == "1****2"
    assert not any("4111" in r.raw or "Digit: 4" in r.raw for r in rows.rows)
    assert rows.rows[0].received_at == datetime.fromtimestamp(1.0, UTC)
