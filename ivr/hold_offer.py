"""The callback offer that keeps the caller's place, played between two stretches of hold music.

The router decides when a waiting caller is offered a callback (the policy's ``offer_callback``
step); the hold music plays in stretches that end when the offer is due (:mod:`ivr.hold`; one
stretch without a limit when no offer will come), and between two of them the caller hears the
offer in their language: 1 = call me back (on the number they key in, or the
one they call from), 2 or nothing = keep waiting (the music resumes; the call never left the
queue, so its place is unchanged). A taken callback stays in the queue in the caller's place and
the caller is thanked and hung up.

Asterisk facts this relies on: AGI commands queue, and the router's Bridge can pull the caller
out of AGI at any moment (then the session raises :class:`~ivr.agi_session.Stop`, and no
command is sent after it). So the offer is played only while the router still has the call
waiting (not ringing an agent), and asked again before the callback is taken: an agent who
became free during the offer still gets the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from callcenter.orders.phone import normalize
from callcenter.settings import IvrSettings
from ivr import commands as cmd
from ivr.agi_session import AgiSession, Stop
from ivr.effects import OFFER_PROMPTS, PathEntry
from ivr.journal import IvrJournal

log = structlog.get_logger("ivr.hold")

OFFER_TIMEOUT_MS = 6000
NUMBER_TIMEOUT_MS = 8000
MAX_NUMBER = 20
# the hold music stops this long after an offer is due at the latest (the router decides it on
# its timer; a stretch that ends a little early is followed by a short one)
MIN_STRETCH_S = 2
MAX_STRETCH_S = 60


class CallbackOffers(Protocol):
    """Routing's side of the offer (``callcenter.routing.callback_board.CallbackBoard``)."""

    def pending(self, call_id: str) -> bool:
        """The router offered this caller a callback they have not answered yet."""
        ...

    def offer_in(self, call_id: str) -> float | None:
        """Seconds until the router offers this caller a callback (0: offered, not yet
        answered; None: no offer will come)."""
        ...

    def offer_after(self, skill: str) -> float | None:
        """Seconds from queueing until a call for ``skill`` is offered a callback (None: never)."""
        ...

    def waiting(self, call_id: str) -> bool:
        """The call waits in the queue (no agent is being rung for it)."""
        ...

    def take(self, call_id: str, number: str) -> None:
        """Keep the caller's place as a callback to ``number``. Raises: ValueError (number)."""
        ...

    def decline(self, call_id: str) -> None:
        ...


@dataclass(frozen=True, slots=True)
class OfferPrompts:
    """The offer's prompts in the caller's language (resolved by the flow)."""

    offer: str
    enter_number: str
    invalid: str
    kept: str
    goodbye: str

    @classmethod
    def of(cls, resolved: tuple[str, ...]) -> OfferPrompts | None:
        return cls(*resolved) if len(resolved) == len(OFFER_PROMPTS) else None


def _stretch(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    return min(MAX_STRETCH_S, max(MIN_STRETCH_S, math.ceil(seconds)))


def default_number(caller_number: str) -> str:
    number = normalize(caller_number).lstrip("+")
    return number if 5 <= len(number) <= MAX_NUMBER else ""


class CallbackOfferer:
    """Args:
        offers: routing's side of the offer.
        journal: where the caller's answer is recorded (``calls.ivr_path``).
        settings: the command timeout.
        clock: timezone-aware now.
    """

    def __init__(self, offers: CallbackOffers, journal: IvrJournal, settings: IvrSettings,
                 clock: Callable[[], datetime]) -> None:
        self._offers = offers
        self._journal = journal
        self._settings = settings
        self._clock = clock

    def due(self, call_id: str) -> bool:
        return self._offers.pending(call_id) and self._offers.waiting(call_id)

    def first_stretch(self, skill: str) -> int | None:
        """The first stretch of hold music (the call is not queued yet): until the skill's
        offer is due (None: no offer will come, the music plays without a limit)."""
        return _stretch(self._offers.offer_after(skill))

    def stretch(self, call_id: str) -> int | None:
        """The next stretch: until the call's offer is due, or a short one while the offer
        waits to be played (an agent is being rung meanwhile)."""
        return _stretch(self._offers.offer_in(call_id))

    async def offer(self, session: AgiSession, prompts: OfferPrompts, node: str) -> None:
        """Play the offer; returns when the caller keeps waiting.

        Raises:
            Stop: the caller took the callback and was hung up, or an agent took the call.
        """
        call_id = session.call_id
        choice = await self._ask(session, prompts.offer, OFFER_TIMEOUT_MS, 1)
        number = await self._number(session, prompts) if choice == "1" else ""
        if not number or not self._offers.waiting(call_id):
            self._offers.decline(call_id)
            await self._note(call_id, node, "declined" if choice != "1" else "no_number")
            return
        try:
            self._offers.take(call_id, number)
        except ValueError:
            self._offers.decline(call_id)
            await self._note(call_id, node, "no_number")
            return
        await self._note(call_id, node, "taken", number=number)
        await session.run(cmd.stream_file(prompts.kept))
        await session.run(cmd.stream_file(prompts.goodbye))
        await session.send(cmd.hangup())
        raise Stop("callback taken: the caller keeps their place")

    async def _number(self, session: AgiSession, prompts: OfferPrompts) -> str:
        """The number keyed in (ending with #), or the caller's own on a bare #; one retry."""
        fallback = default_number(session.start.caller_number)
        for attempt in range(2):
            digits = await self._ask(session, prompts.enter_number, NUMBER_TIMEOUT_MS, MAX_NUMBER)
            if digits == "" and fallback:
                return fallback
            if 5 <= len(digits) <= MAX_NUMBER and digits.isdigit():
                return digits
            if attempt == 0:
                await session.run(cmd.stream_file(prompts.invalid))
        return ""

    async def _ask(self, session: AgiSession, prompt: str, timeout_ms: int, max_digits: int) -> str:
        budget = self._settings.command_timeout_s + timeout_ms / 1000 * (max_digits + 1)
        result = await session.run(cmd.get_data(prompt, timeout_ms, max_digits), budget)
        return cmd.get_data_digits(result)

    async def _note(self, call_id: str, node: str, outcome: str, **data: str) -> None:
        log.info("ivr_callback_offer", call_id=call_id, outcome=outcome)
        await self._journal.record(call_id, [PathEntry(self._clock(), node, "callback_offer",
                                                       {"outcome": outcome, **data})])
