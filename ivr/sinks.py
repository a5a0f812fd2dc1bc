"""What the IVR runner talks to besides Asterisk: Protocols, implemented elsewhere.

- :class:`AgiLink`: ``callcenter.ami.client.AmiClient`` satisfies it.
- :class:`IvrRecorder`: the call's IVR path and context (the lead's PostgreSQL implementation
  writes ``calls.ivr_path``/``calls.context``). Must return quickly: buffer and batch.
- :class:`RouteSink`: skill-based routing takes the call from there.
- :class:`CallbackSink`: ``callcenter.orders.tickets.CallbackTickets`` satisfies it.
- :class:`Redirector`: AMI ``Redirect`` for transfers to an extension (:class:`AmiRedirector`).
- Order lookups go through ``callcenter.orders.provider.OrderContextProvider``.

Any of them may raise; the runner logs it and sends the call to its fallback instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from callcenter.ami import messages
from callcenter.ami.agi import AgiResult
from callcenter.ami.messages import AmiResponse
from callcenter.orders.tickets import CallbackRequest
from ivr.effects import JsonValue, RouteRequirements
from ivr.model import Scalar


class AgiLink(Protocol):
    async def agi(self, channel: str, command: str, timeout: float) -> AgiResult:
        """Run one AGI command on a channel in AsyncAGI.

        Raises:
            AgiChannelGone: the channel hung up or left AGI.
            AmiError: the link is down or the command timed out.
        """
        ...


class IvrRecorder(Protocol):
    async def append_path(self, call_id: str, entries: Sequence[Mapping[str, JsonValue]]) -> None:
        """Append steps to the call's ``ivr_path`` (JSON objects with at, node, kind, …)."""
        ...

    async def update_context(self, call_id: str, values: Mapping[str, Scalar]) -> None:
        """Merge ``values`` into the call's ``context`` (customer, order, language, survey.csat…).
        Sensitive values arrive masked."""
        ...


class RouteSink(Protocol):
    def prepare(self, call_id: str, context: Mapping[str, Scalar]) -> None:
        """Start looking up what :meth:`enqueue` will need (the routing facts) while the hold
        music starts; ``enqueue`` works without it."""
        ...

    async def enqueue(self, call_id: str, channel: str, requirements: RouteRequirements,
                      context: Mapping[str, Scalar]) -> None:
        """Queue the call for an agent; the router later bridges ``channel`` (Originate→Bridge)."""
        ...

    def enqueue_now(self, call_id: str, channel: str, requirements: RouteRequirements,
                    context: Mapping[str, Scalar]) -> bool:
        """:meth:`enqueue` without waiting, when all it needs is at hand (what :meth:`prepare`
        looked up has come); False: nothing was done, call :meth:`enqueue`."""
        ...

    async def withdraw(self, call_id: str) -> bool:
        """Take the call back out of the queue (``max_wait`` passed). False when it is too late:
        an agent is already being offered the call, which then keeps holding."""
        ...


class CallbackSink(Protocol):
    async def create_callback(self, request: CallbackRequest) -> int:
        """Create the callback ticket; returns its id."""
        ...


class Redirector(Protocol):
    async def redirect(self, channel: str, context: str, exten: str, priority: int) -> None:
        ...


class _Sender(Protocol):
    async def send(self, action: messages.Action, timeout: float | None = None) -> AmiResponse: ...


class AmiRedirector:
    """:class:`Redirector` over an AMI client (``AmiClient.send``)."""

    def __init__(self, ami: _Sender) -> None:
        self._ami = ami

    async def redirect(self, channel: str, context: str, exten: str, priority: int) -> None:
        await self._ami.send(messages.redirect(channel, context, exten, priority))
