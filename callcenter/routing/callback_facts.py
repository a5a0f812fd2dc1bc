"""What the callback edge reads off Asterisk (``callcenter.routing.callbacks``): the dialplan
context, a dialable number, what an agent leg's failure and a customer leg's ``DialStatus``
mean, and the state of one callback being dialled."""

from __future__ import annotations

import re
from dataclasses import dataclass

from callcenter.calls.model import OfferResult
from callcenter.calls.offer_match import offer_result_for_cause
from callcenter.routing.decisions import DialCallback

CONTEXT = "cc-callback"
NUMBER = re.compile(r"\+?[0-9]{3,20}")
REASONS = {"1": "no_answer", "3": "no_answer", "5": "busy", "8": "unavailable"}
DIAL_STATUS = {"ANSWER": "answered", "BUSY": "busy", "NOANSWER": "no_answer",
               "CHANUNAVAIL": "unavailable", "CONGESTION": "unavailable", "CANCEL": "cancelled"}


def valid_number(number: str) -> bool:
    """Digits only (a leading + allowed): the number goes into a dial string."""
    return NUMBER.fullmatch(number) is not None


def agent_result(reason: str, cause: int | None) -> str:
    """Why the agent's leg failed: the Reason when it says (0 says nothing: busy and
    unregistered alike), else the Hangup cause, else no channel at all (unregistered)."""
    if reason in REASONS:
        return REASONS[reason]
    if cause is None:
        return "unavailable"
    result = offer_result_for_cause(cause)
    return "no_answer" if result is OfferResult.CANCELLED else result.value


@dataclass(slots=True, eq=False)
class Dialing:
    decision: DialCallback
    action_id: str = ""
    channel: str = ""
    answered: bool = False
    connected: bool = False
    cancelled: bool = False
    cause: int | None = None  # the agent channel's Hangup cause, before it answered
