"""The call model: what the tracker knows about each call and its legs.

A call is keyed by the ``Linkedid`` of its first channel (the caller's). Agent legs join it
when they are offered (by the dial string or the ``CC_CALL`` variable the server sets on the
Originate) or when Asterisk moves their ``Linkedid`` to the caller's on bridging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class CallState(StrEnum):
    IVR = "ivr"
    QUEUED = "queued"
    OFFERED = "offered"
    TALKING = "talking"
    ENDED = "ended"


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    FAILED = "failed"
    IVR_HANGUP = "ivr_hangup"


class Side(StrEnum):
    CALLER = "caller"
    AGENT = "agent"


@dataclass(slots=True)
class Leg:
    """One Asterisk channel of a call. ``role`` is caller, agent or local (the other half of a
    Local channel pair, which belongs to the same ``side``)."""

    uniqueid: str
    channel: str
    linkedid: str
    role: str
    side: Side
    created_at: float
    caller_number: str = ""
    caller_name: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    hangup_cause: int | None = None
    dial_status: str = ""
    bridge_id: str = ""
    agi_ended: bool = False
    offer: Offer | None = None


@dataclass(slots=True)
class Offer:
    """The server asked Asterisk to ring an agent for this call (Originate → Bridge)."""

    action_id: str
    dial_string: str
    caller_channel: str
    sent_at: float
    call_tag: str = ""
    agent_channel: str = ""
    agent_uniqueid: str = ""
    result: str = "pending"  # pending, ringing, answered, no_answer, busy, unavailable, failed, cancelled
    cause: int | None = None
    reason: str = ""
    ended_at: float | None = None

    @property
    def open(self) -> bool:
        return self.result in ("pending", "ringing")

    def to_json(self) -> dict[str, Any]:
        return {"dial_string": self.dial_string, "agent_channel": self.agent_channel,
                "result": self.result, "cause": self.cause, "reason": self.reason,
                "sent_at": iso(self.sent_at), "ended_at": iso(self.ended_at)}


@dataclass(slots=True)
class Call:
    linkedid: str
    arrived_at: float
    legs: dict[str, Leg] = field(default_factory=dict)
    caller_uniqueid: str = ""
    state: CallState = CallState.IVR
    outcome: Outcome | None = None
    digits: str = ""
    answered_at: float | None = None
    bridged_at: float | None = None
    queued_at: float | None = None
    ended_at: float | None = None
    hangup_cause: int | None = None
    hangup_by: str = ""
    agent_uniqueid: str = ""
    recordings: list[str] = field(default_factory=list)
    recording_pauses: list[tuple[float, float | None]] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    first_hangup: tuple[str, str] | None = None  # (uniqueid, event name)
    server_hangup: bool = False
    in_survey: bool = False
    # set when the end was not seen: "link_down" (reconciled after a reconnect), "server_down"
    end_reason: str = ""

    @property
    def caller(self) -> Leg | None:
        return self.legs.get(self.caller_uniqueid)

    @property
    def agent(self) -> Leg | None:
        return self.legs.get(self.agent_uniqueid)

    @property
    def live(self) -> bool:
        return self.state is not CallState.ENDED

    def to_record(self) -> dict[str, Any]:
        """The call as one JSON object (the ``callcenter replay`` line and the API shape)."""
        caller = self.caller
        agent = self.agent
        duration = (round(self.ended_at - self.arrived_at, 3)
                    if self.ended_at is not None else None)
        return {
            "linkedid": self.linkedid,
            "caller_channel": caller.channel if caller else "",
            "caller_number": caller.caller_number if caller else "",
            "caller_name": caller.caller_name if caller else "",
            "state": self.state.value,
            "outcome": self.outcome.value if self.outcome else None,
            "agent_channel": agent.channel if agent else "",
            "digits": self.digits,
            "hangup_cause": self.hangup_cause,
            "hangup_by": self.hangup_by or None,
            "end_reason": self.end_reason or None,
            "arrived_at": iso(self.arrived_at),
            "queued_at": iso(self.queued_at),
            "answered_at": iso(self.answered_at),
            "bridged_at": iso(self.bridged_at),
            "ended_at": iso(self.ended_at),
            "duration_s": duration,
            "recordings": list(self.recordings),
            "offers": [offer.to_json() for offer in self.offers],
        }


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
