"""What the router is told. Every event carries ``at`` (seconds, the injected clock)."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.agents.model import AgentProfile


@dataclass(frozen=True, slots=True)
class CallRequest:
    """A call that waits for an agent, with what the IVR learned.

    ``tags`` feed the priority weights (``vip``, ``repeat_caller``, ``callback``…);
    ``preferred_agent`` is the owner of the caller's open ticket (sticky routing).
    An empty ``language`` means any.
    """

    call_id: str
    skill: str
    min_level: int = 1
    language: str = ""
    priority: int = 0
    tags: frozenset[str] = frozenset()
    order_value: float = 0.0
    preferred_agent: str | None = None


@dataclass(frozen=True, slots=True)
class AgentAdded:
    """A new agent, or new skills/languages/phone for a known one (takes effect at once)."""

    profile: AgentProfile
    at: float


@dataclass(frozen=True, slots=True)
class AgentRemoved:
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    agent_id: str
    at: float
    ready: bool = False


@dataclass(frozen=True, slots=True)
class AgentReady:
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentPaused:
    """Takes effect at once, or after the current call when the agent is offered or talking."""

    agent_id: str
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class PhoneReachable:
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class PhoneUnreachable:
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnqueued:
    call: CallRequest
    at: float


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """``result``: no_answer, busy, unavailable, failed, or not_sent (the link was down: the
    agent is not to blame and stays ready)."""

    call_id: str
    agent_id: str
    result: str
    at: float


@dataclass(frozen=True, slots=True)
class CallHungUp:
    """The caller is gone: an abandon while waiting or ringing, or the end of the talk."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class TalkEnded:
    """The agent's leg ended (the caller may still be in a survey). ``agent_id``: whose talk
    ended ("" whoever talks); another agent's is stale (a colleague took the call over)."""

    call_id: str
    at: float
    agent_id: str = ""


CONSULT_PAUSE = "consult"  # the server's pause of a colleague a consult rings or talks to


@dataclass(frozen=True, slots=True)
class CallTakenOver:
    """A colleague took the caller over from a consult (a completed consult transfer, or a
    three-way the first agent left): they talk now, and wrap up when the talk ends; the first
    agent's talk is over."""

    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class ConsultTalkEnded:
    """A consult the colleague answered ended without handing them the caller (cancelled,
    they left, or the caller hung up): they talked, so they wrap up as after any talk (the
    wrap-up of the call's skill, ``skill`` when the call is already over), then come back
    from the ``consult`` pause."""

    call_id: str
    agent_id: str
    at: float
    skill: str = ""


RESTORED_PAUSE = "restored"  # after a restart: an agent who was busy (talking, wrapping up...)


@dataclass(frozen=True, slots=True)
class TalkRestored:
    """After a restart: an agent (back paused ``restored``) is found with their leg up on a
    live call routing does not know (a callback, any call the tracker rebuilt): they talk on
    it, and wrap up when the talk ends, as after any talk. ``skill``: the call's, for its
    wrap-up ("" the agent's best)."""

    call_id: str
    agent_id: str
    skill: str
    at: float


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAccepted:
    """The caller took the callback: the call leaves the queue."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackQueued:
    """The caller took a callback that keeps their place: they hang up, the call stays queued
    and ``number`` is called back when it comes up."""

    call_id: str
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackRestored:
    """A stored callback after a restart: queued again with its original ``enqueued_at`` (the
    router's clock) and the customer legs already tried."""

    call: CallRequest
    number: str
    enqueued_at: float
    attempts: int
    at: float


@dataclass(frozen=True, slots=True)
class CallbackDialed:
    """What became of a callback's customer leg once the agent answered: ``answered``, or
    ``no_answer``, ``busy``, ``unavailable``, ``failed``."""

    call_id: str
    result: str
    at: float


@dataclass(frozen=True, slots=True)
class OffersSuspended:
    """No new offers (the AMI link is down); calls keep queueing."""

    at: float


@dataclass(frozen=True, slots=True)
class OffersResumed:
    at: float


@dataclass(frozen=True, slots=True)
class Tick:
    at: float


RouterEvent = (AgentAdded | AgentRemoved | AgentLoggedIn | AgentReady | AgentPaused | AgentLoggedOut
               | PhoneReachable | PhoneUnreachable | CallEnqueued | OfferAnswered | OfferFailed
               | CallHungUp | TalkEnded | CallTakenOver | ConsultTalkEnded | TalkRestored | WrapUpDone
               | CallbackAccepted | CallbackQueued | CallbackRestored | CallbackDialed | OffersSuspended
               | OffersResumed | Tick)
