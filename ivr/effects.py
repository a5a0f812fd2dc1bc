"""What the interpreter asks for (effects) and what it is told back (events).

The interpreter (:mod:`ivr.interpreter`) is pure: it returns one effect at a time, the performer
(:mod:`ivr.perform`) carries it out over AsyncAGI or a sink and feeds the outcome back as an event.
Prompt names in effects are already resolved for the caller's language (``zh/welcome``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.model import Scalar

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What is known about the call when the flow starts (from ``AsyncAGIStart``)."""

    call_id: str
    channel: str
    caller_number: str = ""
    caller_name: str = ""
    extension: str = ""


@dataclass(frozen=True, slots=True)
class RouteRequirements:
    """What skill-based routing needs to pick an agent."""

    skill: str
    min_level: int = 1
    language: str = "en"
    priority: int = 0
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JsonValue]:
        return {"skill": self.skill, "min_level": self.min_level, "language": self.language,
                "priority": self.priority, "tags": list(self.tags)}


# --- effects ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PlayPrompts:
    prompts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetDigits:
    """Play ``prompts`` and read up to ``max_digits`` (``GET DATA`` on the last prompt; earlier
    prompts can be cut short by a digit in ``interrupt``)."""

    prompts: tuple[str, ...]
    max_digits: int
    timeout_s: float
    interrupt: str = ""
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class Say:
    """A read-back: ``prompts`` spell ``shown`` (masked when the value is sensitive)."""

    prompts: tuple[str, ...]
    kind: str
    shown: str


@dataclass(frozen=True, slots=True)
class Lookup:
    """``customer`` by phone number or ``order`` by order number."""

    kind: str
    key: str
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    requirements: RouteRequirements
    context: Mapping[str, Scalar]
    hold: str = "default"
    max_wait_s: int | None = None
    fallback: bool = False
    offer_prompts: tuple[str, ...] = ()  # the callback offer's prompts, caller's language


@dataclass(frozen=True, slots=True)
class HeldPlace:
    """A caller's place in the queue that the router restored after a restart: what the call
    was queued with (the stored ``queued`` step) and the route node it was queued at."""

    requirements: RouteRequirements
    node: str
    hold: str = "default"  # the route's music-on-hold class
    max_wait_s: int | None = None  # the route's max_wait, counted from ``queued_at``
    queued_at: datetime | None = None  # when the call was queued (the ``queued`` step)
    context: Mapping[str, Scalar] = field(default_factory=dict)  # the call's public context


# the prompts of the callback offer played during the hold (ivr/hold_offer.py), in this order
OFFER_PROMPTS = ("callback-offer", "callback-enter-number", "callback-number-invalid",
                 "callback-kept", "goodbye")


@dataclass(frozen=True, slots=True)
class CreateCallback:
    number: str
    reason: str
    language: str
    customer_id: int | None = None
    order_number: str | None = None
    voicemail: str | None = None
    context: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Record:
    """``RECORD FILE``: the runner picks the file path from ``name`` and the call id."""

    name: str
    max_seconds: int
    silence_seconds: int
    beep: bool = True
    escape_digits: str = "#"


@dataclass(frozen=True, slots=True)
class Transfer:
    """``dial`` through ``EXEC Dial``, or ``context``/``exten``/``priority`` through AMI Redirect."""

    dial: str | None = None
    context: str | None = None
    exten: str | None = None
    priority: int = 1
    timeout_s: int = 30


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str = "flow"


Effect = PlayPrompts | GetDigits | Say | Lookup | Route | CreateCallback | Record | Transfer | Hangup


# --- events ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Played:
    pass


@dataclass(frozen=True, slots=True)
class DigitsEntered:
    """``GET DATA``'s digits; ``timed_out`` when the caller stopped without ``#``."""

    digits: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class LookupDone:
    """``values`` to merge into the context (None: nothing found); ``failed``: the provider erred."""

    values: Mapping[str, Scalar] | None
    failed: bool = False


@dataclass(frozen=True, slots=True)
class HoldEnded:
    """``max_wait`` passed on hold and the router gave the call back."""


@dataclass(frozen=True, slots=True)
class CallbackDone:
    ticket_id: int | None


@dataclass(frozen=True, slots=True)
class Recorded:
    path: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TransferDone:
    """``DIALSTATUS`` after ``EXEC Dial`` (``ANSWER``, ``BUSY``, ``NOANSWER``, …)."""

    status: str


@dataclass(frozen=True, slots=True)
class Failed:
    """The last effect could not be carried out (AGI error, provider down, server bug)."""

    reason: str


Event = (Played | DigitsEntered | LookupDone | HoldEnded | CallbackDone | Recorded | TransferDone
         | Failed)


# --- the call's path -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PathEntry:
    """One step of the caller's way through the IVR, as stored in ``calls.ivr_path``.

    ``kind``: start, node, input, lookup, say, route, callback, record, transfer, hangup,
    fallback, error, end. Sensitive digits are already masked here.
    """

    at: datetime
    node: str
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"at": self.at.isoformat(timespec="milliseconds"),
                                     "node": self.node, "kind": self.kind}
        for key, value in self.data.items():
            out[f"{key}_" if key in out else key] = _json(value)
        return out


def _json(value: Any) -> JsonValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(v) for v in value]
    return str(value)
