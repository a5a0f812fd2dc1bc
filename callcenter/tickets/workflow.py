"""The after-sales ticket workflow: kinds, statuses, the moves allowed, reply deadlines.

open → in_progress → waiting_customer → resolved → closed; a resolved ticket can be reopened
(in_progress); a ticket waiting for the customer goes back in progress when they answer.
Complaints must be answered within 7 days (consumer-protection law); the other kinds carry the
shop's own service promise.
"""

from __future__ import annotations

from datetime import datetime, timedelta

KINDS = ("return", "refund", "exchange", "repair", "complaint", "inquiry")
STATUSES = ("open", "in_progress", "waiting_customer", "resolved", "closed")
MOVES: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "waiting_customer", "resolved"}),
    "in_progress": frozenset({"waiting_customer", "resolved"}),
    "waiting_customer": frozenset({"in_progress", "resolved"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset(),
}
REPLY_WITHIN = {"complaint": timedelta(days=7), "refund": timedelta(days=3), "return": timedelta(days=5),
                "exchange": timedelta(days=5), "repair": timedelta(days=10), "inquiry": timedelta(days=2)}
DISPOSITIONS = ("resolved", "ticket_opened", "ticket_updated", "callback_promised", "information_given",
                "transferred", "wrong_number", "no_action")


class TicketError(ValueError):
    """An invalid ticket change; ``error_id`` is stable for API clients."""

    def __init__(self, message: str, error_id: str = "bad_ticket") -> None:
        super().__init__(message)
        self.error_id = error_id


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise TicketError(f"kind must be one of {', '.join(KINDS)}", "bad_kind")
    return kind


def check_move(current: str, wanted: str) -> None:
    if wanted not in STATUSES:
        raise TicketError(f"status must be one of {', '.join(STATUSES)}", "bad_status")
    if wanted != current and wanted not in MOVES[current]:
        allowed = ", ".join(sorted(MOVES[current])) or "none (closed tickets stay closed)"
        raise TicketError(f"a ticket that is {current} cannot become {wanted} (allowed: {allowed})",
                          "illegal_move")


def reply_due(kind: str, created: datetime) -> datetime:
    return created + REPLY_WITHIN[check_kind(kind)]


def check_disposition(code: str) -> str:
    if code not in DISPOSITIONS:
        raise TicketError(f"disposition must be one of {', '.join(DISPOSITIONS)}", "bad_disposition")
    return code
