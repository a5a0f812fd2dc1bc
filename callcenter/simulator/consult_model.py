"""One consult transfer as the simulator runs it (:mod:`.atxfer`): its channels and bridges,
and the activity of each channel taking part."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcenter.simulator.clock import Timer
from callcenter.simulator.model import Bridge, Channel


@dataclass(eq=False)
class Consult:
    agent: Channel
    caller: Channel
    home: Bridge  # the caller's bridge
    context: str
    exten: str
    state: str = "dialing"  # dialing -> ringing -> talking -> done
    one: Channel | None = None
    two: Channel | None = None
    target: Channel | None = None
    consult_bridge: Bridge | None = None
    dial_bridge: Bridge | None = None
    timer: Timer | None = None
    caller_gone: bool = False
    digits: str = ""  # the features code being pressed


class ConsultLeg:
    """The activity of a channel taking part in a consult (its ending is the consult's news)."""

    name = "Consult"

    def __init__(self, left: Callable[[Consult, Channel], None], consult: Consult,
                 ch: Channel) -> None:
        self.left, self.consult, self.ch = left, consult, ch

    def interrupt(self, cause: int) -> None:
        self.left(self.consult, self.ch)

    def yank(self) -> None:
        self.left(self.consult, self.ch)

    def wants_dtmf(self) -> bool:
        return False

    def queue_dtmf(self, digit: str, duration_ms: int) -> None:
        """Never queued."""

    def on_digit(self, digit: str) -> None:
        """Digits pass through the bridge."""
