"""One consult transfer as the simulator runs it (:mod:`.atxfer`): its channels and bridges,
and the activity of each channel taking part."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcenter.simulator.bridging import InBridge
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


class HeldTransferer(InBridge):
    """The transferer in the caller's bridge, held while the ``Atxfer`` feature collects the
    extension: made to leave (hung up, or the consult given up), it is unheld first
    (``Unhold``, then ``BridgeLeave``), as in ``call_control_consult_caller_left_in_atxfer``."""

    def interrupt(self, cause: int) -> None:
        self.pbx.channel_event(self.ch, "Unhold")
        super().interrupt(cause)

    def yank(self) -> None:
        self.pbx.channel_event(self.ch, "Unhold")
        super().yank()


def inherit(parent: Channel, child: Channel) -> None:
    """The variables a new channel inherits (``_VAR`` once, ``__VAR`` for ever), and
    ``TRANSFERERNAME``."""
    for key, value in parent.variables.items():
        if key.startswith("_"):
            child.variables[key[2:] if key.startswith("__") else key[1:]] = value
            if key.startswith("__"):
                child.variables[key] = value
    child.variables["TRANSFERERNAME"] = parent.name
