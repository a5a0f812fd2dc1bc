"""Masking the digits a caller keys during a sensitive IVR step (a card number, a PIN): the
masked event is what the tracker and the event log see; the IVR alone gets the real digits."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from callcenter.ami.messages import AmiEvent
from callcenter.ami.parser import Frame

SENSITIVE_EVENTS = frozenset({"DTMFBegin", "DTMFEnd", "AsyncAGIExec"})


def redact(event: AmiEvent) -> AmiEvent:
    """The event with the caller's digits masked (``*``), for everything that stores it: the
    digits of a card number or a PIN must not reach the event log or the call record."""
    fields = dict(event.frame.fields)
    if "Digit" in fields:
        fields["Digit"] = "*"
    if "Result" in fields:
        decoded = unquote(fields["Result"])
        fields["Result"] = quote(_DIGITS.sub(lambda m: "*" * len(m.group(0)), decoded), safe="")
    raw = "\r\n".join(f"{key}: {value}" for key, value in fields.items())
    return AmiEvent(Frame(fields, raw), event.received_at)


_DIGITS = re.compile(r"(?<=result=)[0-9*#]+")
