"""Blind transfers to a skill queue, between the agent's click and the caller's return to routing.

The console asks for a transfer (:meth:`TransferDesk.put`); Asterisk moves the caller (AMI
``BlindTransfer`` of the agent's channel) to the ``[cc-transfer]`` context (at the skill's
extension), whose
``AGI(agi:async)`` brings the caller back to the server; the IVR runner then takes the ticket
(:meth:`TransferDesk.take`) and routes the call to the ticket's skill with what the call already
knew (language, IVR context and path, customer) plus the ``transferred`` tag, and the transfer's
facts in the context (who transferred, their note) for the next agent's screen-pop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.transfer import TRANSFER_CONTEXT

__all__ = ["MAX_NOTE", "SKILL_EXTEN", "TRANSFER_CONTEXT", "TransferDesk", "TransferTicket"]

# the BlindTransfer's extension is the skill: [cc-transfer] matches _[a-z]. (two characters or more)
SKILL_EXTEN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MAX_NOTE = 500


@dataclass(frozen=True, slots=True)
class TransferTicket:
    """One transfer asked for: the call, the skill it goes to, who sent it, their note, and
    the agent it goes to when one was chosen."""

    call_id: str
    skill: str
    by_agent: str
    note: str
    at: float
    agent: str = ""  # the agent it goes to first (routing holds it for them), if one was chosen
    number: str = ""  # an outside number it is dialled to ("" for a skill or an agent)

    @property
    def outside(self) -> bool:
        return bool(self.number)

    def context(self) -> dict[str, str | bool]:
        """What the next agent's screen-pop shows (the IVR context's ``transfer.*`` keys);
        ``transfer.agent`` is also the agent routing offers the call to first."""
        facts: dict[str, str | bool] = {
            "transferred": True, "transfer.by": self.by_agent, "transfer.note": self.note,
            "transfer.skill": self.skill, "transfer.agent": self.agent}
        if self.number:  # the outside number did not answer: the caller is back
            facts["transfer.outside_failed"] = True
        return facts


class TransferDesk:
    """The transfers asked for and not yet taken by the IVR runner, by call id (the latest
    wins; a ticket older than ``ttl_s`` is stale: its caller never came back)."""

    def __init__(self, ttl_s: float = 60.0) -> None:
        self._tickets: dict[str, TransferTicket] = {}
        self._ttl_s = ttl_s
        self.taken = 0

    def put(self, ticket: TransferTicket) -> None:
        self._tickets[ticket.call_id] = ticket
        if len(self._tickets) > 1024:
            oldest = min(self._tickets.values(), key=lambda t: t.at)
            del self._tickets[oldest.call_id]

    def drop(self, call_id: str) -> None:
        self._tickets.pop(call_id, None)

    def take(self, call_id: str, now: float) -> TransferTicket | None:
        ticket = self._tickets.pop(call_id, None)
        if ticket is None or now - ticket.at > self._ttl_s:
            return None
        self.taken += 1
        return ticket

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._tickets

    def __len__(self) -> int:
        return len(self._tickets)
