"""The IVR's description of an error it lives with keeps what a caller typed out of the log."""

from __future__ import annotations

from ivr.faults import describe


def test_given_an_error_quoting_a_number_then_the_digits_are_masked() -> None:
    error = ValueError('invalid input for query argument $1: "13800000001" (order 10000011)')
    text = describe(error)
    assert text.startswith("ValueError: invalid input for query argument $1")
    assert "13800000001" not in text and "10000011" not in text
    assert len(describe(RuntimeError("x" * 500))) == 200
