"""The call model: what the tracker knows about each call and its legs.

A call is keyed by the ``Linkedid`` of its first channel (the caller's). Agent legs join it
when they are offered (by the dial string or the ``CC_CALL`` variable the server sets on the
Originate) or when Asterisk moves their ``Linkedid`` to the caller's on bridging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
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


class Direction(StrEnum):
    """Who placed the call: the customer (``inbound``) or an agent calling a customer back
    (``callback``: an Originate of the agent's phone into the callback context)."""

    INBOUND = "inbound"
    CALLBACK = "callback"


class Side(StrEnum):
    CALLER = "caller"
    AGENT = "agent"


class LegRole(StrEnum):
    """What a channel is to its call: the caller's, the agent's, the other half of a Local
    pair (``local``), the outside party an agent transferred the caller to (``external``: the
    carrier leg the caller's channel dialled), or a channel of the caller's side the tracker
    cannot place (``other``)."""

    CALLER = "caller"
    AGENT = "agent"
    LOCAL = "local"
    EXTERNAL = "external"
    OTHER = "other"


class OfferResult(StrEnum):
    """What became of one offer (an Originate ringing an agent for a call)."""

    PENDING = "pending"
    RINGING = "ringing"
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def open(self) -> bool:
        return self in (OfferResult.PENDING, OfferResult.RINGING)


class HangupBy(StrEnum):
    """Who ended the call: ``system`` is the dialplan ending the IVR, ``unknown`` an end never
    seen (the link was down)."""

    CALLER = "caller"
    AGENT = "agent"
    SERVER = "server"
    SYSTEM = "system"
    UNKNOWN = "unknown"


class EndReason(StrEnum):
    """Why a call's end was not seen: reconciled after a reconnect, or after a restart."""

    LINK_DOWN = "link_down"
    SERVER_DOWN = "server_down"


class HangupCause(IntEnum):
    """The Q.850 causes of ``Hangup`` events this server reads."""

    UNALLOCATED = 1
    NO_ROUTE_DESTINATION = 3
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    SUBSCRIBER_ABSENT = 20
    DESTINATION_OUT_OF_ORDER = 27
    NETWORK_OUT_OF_ORDER = 38


class OriginateReason(StrEnum):
    """``OriginateResponse`` ``Reason`` of a failed Originate (0, a busy *or* unregistered
    phone, is told apart by the Hangup cause)."""

    NO_ANSWER = "3"
    BUSY = "5"
    CONGESTION = "8"


@dataclass(slots=True)
class Leg:
    """One Asterisk channel of a call. ``role`` is caller, agent or local (the other half of a
    Local channel pair, which belongs to the same ``side``)."""

    uniqueid: str
    channel: str
    linkedid: str
    role: LegRole
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
    talk_from: float | None = None  # an agent's leg: when their talk with the caller began
    ended_how: str = ""  # an agent's leg: hangup, transfer, consult or conference
    transferred_to: str = ""  # where the agent transferred the caller (a skill, a number)
    note: str = ""  # the agent's note on their transfer


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
    result: OfferResult = OfferResult.PENDING
    cause: int | None = None
    reason: str = ""
    ended_at: float | None = None
    call_id: str = ""  # the call it rings for, as keyed when it was sent
    agent_id: str = ""  # the agent it rings (the Originate's CC_AGENT)
    consult: bool = False  # an agent's consult of a colleague (an Atxfer), not routing's offer

    @property
    def open(self) -> bool:
        return self.result.open

    def to_json(self) -> dict[str, Any]:
        return {"dial_string": self.dial_string, "agent_channel": self.agent_channel,
                "result": self.result.value, "cause": self.cause, "reason": self.reason,
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
    hangup_by: HangupBy | None = None
    agent_uniqueid: str = ""
    recordings: list[str] = field(default_factory=list)
    recording_pauses: list[tuple[float, float | None]] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    first_hangup: tuple[str, str] | None = None  # (uniqueid, event name)
    in_survey: bool = False
    end_reason: EndReason | None = None  # set when the end was not seen
    held_since: float | None = None  # the caller hears hold music since then
    hold_s: float = 0.0  # hold time of holds that ended
    hold_count: int = 0
    hold_channel: str = ""  # the hold music's spy channel while on hold
    direction: Direction = Direction.INBOUND
    callback_of: str = ""  # a callback's original call (its Linkedid)
    callback_number: str = ""  # the number a callback dials
    transfers: int = 0  # agents' transfers of the caller
    external_to: str = ""  # an agent sent the caller to this outside number (masked) just now

    def hold_total(self, now: float) -> float:
        """Hold time so far, the running hold included."""
        running = now - self.held_since if self.held_since is not None else 0.0
        return round(self.hold_s + max(0.0, running), 3)

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
            # a callback's customer is the number it dialled (the carrier leg's caller id is
            # the dialled extension, "s")
            "caller_number": (self.callback_number if self.direction is Direction.CALLBACK
                              and self.callback_number else caller.caller_number if caller else ""),
            "caller_name": caller.caller_name if caller else "",
            "state": self.state.value,
            "outcome": self.outcome.value if self.outcome else None,
            "agent_channel": agent.channel if agent else "",
            "digits": self.digits,
            "hangup_cause": self.hangup_cause,
            "hangup_by": self.hangup_by.value if self.hangup_by else None,
            "end_reason": self.end_reason.value if self.end_reason else None,
            "arrived_at": iso(self.arrived_at),
            "queued_at": iso(self.queued_at),
            "answered_at": iso(self.answered_at),
            "bridged_at": iso(self.bridged_at),
            "ended_at": iso(self.ended_at),
            "duration_s": duration,
            "recordings": list(self.recordings),
            "offers": [offer.to_json() for offer in self.offers],
            "held": self.held_since is not None,
            "hold_s": round(self.hold_s, 3),
            "hold_count": self.hold_count,
            "direction": self.direction.value,
            "callback_of": self.callback_of or None,
            "transfers": self.transfers,
        }


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
