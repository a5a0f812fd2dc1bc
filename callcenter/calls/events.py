"""What happened to a call, as the tracker reports it: one frozen record per fact.

The tracker turns each AMI event (and each action the server sends) into a list of these; the
dispatcher (:mod:`callcenter.calls.dispatch`) hands them to the subscribers. Every record names
its call (``call_id``, the caller's ``Linkedid``) and when it happened (``at``, the event's
arrival). An offer (an Originate ringing an agent for the call) is named by the ``action_id``
of its Originate.

A call's usual life, in order::

    CallArrived → EnteredIvr → Queued → OfferSent → AgentLegCreated → AgentRinging
    → AgentAnswered → Bridged → RecordingStarted → AgentHungUp / CallerHungUp → CallEnded

A callback (the server rings an agent, then the dialplan dials the customer) goes::

    CallbackStarted → AgentRinging → AgentAnswered → CustomerDialed → Bridged
    → RecordingStarted → AgentHungUp / CallerHungUp → CallEnded

with ``CallbackFailed`` when the customer (or the agent) never answers.

A consult (the agent rings a colleague while the caller holds) rings like an offer:
``Held`` (music on hold) → ``AgentLegCreated`` → ``AgentRinging`` → ``AgentAnswered`` for the
colleague's leg; then ``ConsultEnded`` when cancelled, ``Transferred`` → ``Bridged`` (the colleague)
→ ``AgentHungUp`` (the agent) when completed, or ``Conferenced`` for a three-way.

An offer that is not answered ends in ``AgentLegFailed`` (with an :class:`OfferResult`) and
the call stays queued for the next one. ``CallUpdated`` says the call's record changed in a
way nobody decides on (caller id, digits, a leg's dial status): it is stored, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.calls.model import EndReason, HangupBy, OfferResult, Outcome, Side


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Base of every call event."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallArrived(CallEvent):
    """A caller's channel appeared (or a channel the tracker cannot yet place)."""

    channel: str
    caller_number: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class CallbackStarted(CallEvent):
    """The agent's channel of a callback appeared: the call is an outbound callback of
    ``callback_of`` (the original call's Linkedid), started by the Originate ``action_id``."""

    action_id: str
    agent_channel: str
    callback_of: str
    number: str


@dataclass(frozen=True, slots=True)
class CustomerDialed(CallEvent):
    """The callback's dialplan dials the customer: ``channel`` is the customer's leg."""

    channel: str


@dataclass(frozen=True, slots=True)
class CallbackFailed(CallEvent):
    """The callback did not reach the customer: ``party`` (the customer, or the agent who
    never answered) ended it with ``result`` (busy, no answer, …)."""

    party: Side
    result: OfferResult
    cause: int | None


@dataclass(frozen=True, slots=True)
class CallUpdated(CallEvent):
    """The call's record changed; ``source`` is the AMI event or action that changed it."""

    source: str


@dataclass(frozen=True, slots=True)
class EnteredIvr(CallEvent):
    """The caller's channel went into AsyncAGI: the IVR (or the post-call survey) runs."""

    context: str
    survey: bool


@dataclass(frozen=True, slots=True)
class Queued(CallEvent):
    """The call waits for an agent from now (the KPIs count from here)."""


@dataclass(frozen=True, slots=True)
class OfferSent(CallEvent):
    """The server sent the Originate that rings an agent for this call."""

    action_id: str
    dial_string: str
    call_tag: str


@dataclass(frozen=True, slots=True)
class AgentLegCreated(CallEvent):
    """The offer's channel to the agent's phone exists."""

    action_id: str
    channel: str
    uniqueid: str


@dataclass(frozen=True, slots=True)
class AgentRinging(CallEvent):
    """The agent's phone rings (always reported before the offer is answered)."""

    action_id: str
    agent_channel: str


@dataclass(frozen=True, slots=True)
class AgentAnswered(CallEvent):
    """The agent picked up the offer."""

    action_id: str
    agent_channel: str


@dataclass(frozen=True, slots=True)
class AgentLegFailed(CallEvent):
    """The offer ended unanswered while the caller was still there."""

    action_id: str
    result: OfferResult
    cause: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Bridged(CallEvent):
    """Caller and agent talk. ``first`` is the call's first bridge; ``action_id`` is the
    offer's ("" for an agent the dialplan connected on its own)."""

    agent_channel: str
    agent_uniqueid: str
    action_id: str
    first: bool
    answered_at: float


@dataclass(frozen=True, slots=True)
class Held(CallEvent):
    """The caller hears hold music while talking to an agent."""

    channel: str


@dataclass(frozen=True, slots=True)
class Resumed(CallEvent):
    """The hold music stopped; ``hold_s`` is the call's hold time so far. ``music_lost``: the
    music channel ended unseen (found gone after the AMI link came back), nobody resumed."""

    channel: str
    hold_s: float
    music_lost: bool = False


@dataclass(frozen=True, slots=True)
class Transferred(CallEvent):
    """A channel of the call was transferred (``target``: the extension or channel)."""

    channel: str
    target: str


@dataclass(frozen=True, slots=True)
class Conferenced(CallEvent):
    """The agent's consult became a three-way: the caller, the agent (``channel``) and the
    colleague (``target``) talk together."""

    channel: str
    target: str


@dataclass(frozen=True, slots=True)
class ConsultEnded(CallEvent):
    """The colleague's leg of a consult ended while the agent kept the call (cancelled, they
    hung up, or they left a three-way): the caller is with the agent."""

    channel: str
    cause: int | None


@dataclass(frozen=True, slots=True)
class RecordingStarted(CallEvent):
    """A recording file of the call is known (from the MixMonitor sent or Asterisk's own)."""

    path: str


@dataclass(frozen=True, slots=True)
class RecordingPaused(CallEvent):
    """The call's recording was muted (``paused``) or unmuted."""

    paused: bool


@dataclass(frozen=True, slots=True)
class CallerHungUp(CallEvent):
    channel: str
    cause: int | None


@dataclass(frozen=True, slots=True)
class AgentHungUp(CallEvent):
    """The connected agent's leg ended (their talk is over)."""

    channel: str
    cause: int | None


@dataclass(frozen=True, slots=True)
class CallEnded(CallEvent):
    outcome: Outcome
    hangup_by: HangupBy | None
    cause: int | None
    end_reason: EndReason | None
