"""What the router decides; adapters carry these out (AMI, database, pushes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcenter.agents.model import AgentState
from callcenter.routing.events import CallRequest


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring ``agent_id`` (``dial_string``) for ``call_id``; give up after ``ring_timeout_s``."""

    call_id: str
    agent_id: str
    offer_id: int
    dial_string: str
    skill: str
    ring_timeout_s: float
    at: float


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing ``agent_id`` for ``call_id`` (``reason``: caller_hung_up, no_response,
    agent_logged_out, callback_accepted, answered_elsewhere)."""

    call_id: str
    agent_id: str
    offer_id: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """The call reached a callback step: offer the caller a callback."""

    call_id: str
    skill: str
    waited_s: float
    at: float


@dataclass(frozen=True, slots=True)
class DialCallback:
    """A callback came up: ring ``agent_id`` first, then (once they answer) ``number`` for
    ``customer_ring_s``; ``attempt`` counts from 1."""

    call_id: str
    agent_id: str
    offer_id: int
    dial_string: str
    number: str
    attempt: int
    skill: str
    ring_timeout_s: float
    customer_ring_s: float
    at: float


@dataclass(frozen=True, slots=True)
class CallbackKept:
    """The caller took the callback and hung up; the call keeps its place (``enqueued_at``)."""

    request: CallRequest
    number: str
    enqueued_at: float
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAttemptFailed:
    """The customer leg failed (``result``); the next try comes up at ``retry_at``."""

    call_id: str
    agent_id: str
    attempt: int
    result: str
    retry_at: float
    at: float


@dataclass(frozen=True, slots=True)
class CallbackConnected:
    """The customer answered: the agent talks with them."""

    call_id: str
    agent_id: str
    attempt: int
    at: float


@dataclass(frozen=True, slots=True)
class CallbackGaveUp:
    """The last customer leg failed: the callback becomes a ticket."""

    request: CallRequest
    number: str
    attempts: int
    result: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent's state, reason or phone reachability changed."""

    agent_id: str
    state: AgentState
    reason: str
    previous: AgentState
    previous_reason: str
    reachable: bool
    call_id: str | None
    at: float

    @property
    def state_changed(self) -> bool:
        return self.state is not self.previous or self.reason != self.previous_reason

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "state": self.state.value, "reason": self.reason,
                "previous": self.previous.value, "previous_reason": self.previous_reason,
                "reachable": self.reachable, "call_id": self.call_id, "at": self.at}


CallbackDecision = (DialCallback | CallbackKept | CallbackAttemptFailed | CallbackConnected
                    | CallbackGaveUp)
Decision = Offer | CancelOffer | OfferCallback | AgentStateChanged | CallbackDecision
