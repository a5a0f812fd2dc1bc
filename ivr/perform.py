"""What each interpreter effect does on a call: prompts and digits over AGI, lookups, the route
to an agent (:mod:`ivr.hold`), callback tickets, voicemail recordings, transfers, the end.

:meth:`Performer.perform` returns the event the interpreter is told back. A command cut by the
caller leaving raises :class:`~ivr.agi_session.Stop`; any other failure raises, and the call's
conductor turns it into ``Failed`` for the interpreter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from callcenter.ami.errors import AmiError
from callcenter.orders.provider import OrderContextProvider
from callcenter.orders.tickets import CallbackRequest
from callcenter.settings import IvrSettings
from ivr import commands as cmd
from ivr.agi_session import AgiEnded, AgiError, AgiSession, Stop, check, consume
from ivr.effects import (
    CallbackDone,
    CreateCallback,
    DigitsEntered,
    Event,
    GetDigits,
    Hangup,
    Lookup,
    LookupDone,
    Played,
    PlayPrompts,
    Record,
    Recorded,
    Route,
    Say,
    Transfer,
    TransferDone,
)
from ivr.faults import Caught, describe, uncounted
from ivr.hold import Holding
from ivr.lookup import customer_values, order_context_values
from ivr.sinks import CallbackSink, Redirector
from ivr.steps import ReturnToDialplan, Step

log = structlog.get_logger("ivr.perform")


class Performer:
    """Args:
        holding: the route to an agent, with the caller on hold.
        orders: order-context provider for ``lookup`` nodes.
        callbacks: callback ticket writer.
        settings: timeouts, the voicemail directory and format.
        redirector: AMI Redirect for ``transfer`` to an extension (optional).
    """

    def __init__(self, holding: Holding, orders: OrderContextProvider, callbacks: CallbackSink,
                 settings: IvrSettings, redirector: Redirector | None = None,
                 caught: Caught = uncounted) -> None:
        self._caught = caught
        self._holding = holding
        self._orders = orders
        self._callbacks = callbacks
        self._settings = settings
        self._redirector = redirector
        self._sensitive_listeners: list[Callable[[str, bool], None]] = []

    def add_sensitive_listener(self, listener: Callable[[str, bool], None]) -> None:
        """``listener(call_id, active)`` when a caller starts and stops keying a sensitive value
        (the recording is paused meanwhile). It must not block; errors are logged."""
        self._sensitive_listeners.append(listener)

    async def perform(self, session: AgiSession, step: Step, then: Route | None = None) -> Event:
        """Carry out ``step.effect`` on the call; the event to tell the interpreter.

        Args:
            then: the route the prompts of ``step`` lead to (``interpreter.route_after``):
                its hold is queued behind the last prompt.
        """
        effect = step.effect
        if isinstance(effect, PlayPrompts | Say):
            ahead = then if then is not None and not (then.fallback and session.kind == "survey") else None
            for index, prompt in enumerate(effect.prompts):
                if ahead is not None and index == len(effect.prompts) - 1:
                    await self._play_then_hold(session, prompt, ahead)
                else:
                    await session.run(cmd.stream_file(prompt))
            return Played()
        if isinstance(effect, GetDigits):
            return await self._get_digits(session, effect)
        if isinstance(effect, Lookup):
            return await self._lookup(effect)
        if isinstance(effect, Route) and effect.fallback and session.kind == "survey":
            effect = ReturnToDialplan("survey failed")  # the call is over: never queue it again
        if isinstance(effect, Route):
            return await self._holding.route(session, effect, step.state.node)
        if isinstance(effect, CreateCallback):
            return await self._callback(session, effect)
        if isinstance(effect, Record):
            return await self._recording(session, effect)
        if isinstance(effect, Transfer):
            return await self._transfer(session, effect)
        if isinstance(effect, Hangup):
            await session.send(cmd.hangup())
            raise Stop("hangup")
        if isinstance(effect, ReturnToDialplan):
            with contextlib.suppress(AmiError):
                await session.set_state("failed")
            await session.send(cmd.asyncagi_break())
            raise Stop(f"returned to dialplan: {effect.reason}")
        raise TypeError(f"unknown effect {effect!r}")

    async def _play_then_hold(self, session: AgiSession, prompt: str, route: Route) -> None:
        """The prompt, with ``routed`` and the hold queued right behind it (written after it on
        the same link: the task that sends the prompt runs first)."""
        played = asyncio.ensure_future(session.run(cmd.stream_file(prompt)))
        self._holding.queue_ahead(session, route)
        try:
            await played
        except BaseException:
            self._holding.drop_ahead(session)
            played.cancel()
            played.add_done_callback(consume)
            raise

    def _tell_sensitive(self, session: AgiSession, active: bool) -> None:
        for listener in self._sensitive_listeners:
            try:
                listener(session.call_id, active)
            except Exception:
                self._caught("ivr_sensitive_listener_failed")
                log.exception("ivr_sensitive_listener_failed")

    async def _get_digits(self, session: AgiSession, effect: GetDigits) -> Event:
        prompts = effect.prompts or ("silence/1",)
        session.sensitive = effect.sensitive
        if effect.sensitive:
            self._tell_sensitive(session, True)
        try:
            for prompt in prompts[:-1]:
                result = await session.run(cmd.stream_file(prompt, effect.interrupt))
                digit = cmd.interrupted_by(result)
                if effect.interrupt and digit:
                    return DigitsEntered(digit)
            timeout_ms = int(effect.timeout_s * 1000)
            budget = self._settings.command_timeout_s + effect.timeout_s * (effect.max_digits + 1)
            result = await session.run(cmd.get_data(prompts[-1], timeout_ms, effect.max_digits), budget)
            return DigitsEntered(cmd.get_data_digits(result), timed_out=result.timed_out)
        finally:
            session.sensitive = False
            if effect.sensitive:
                self._tell_sensitive(session, False)

    async def _lookup(self, effect: Lookup) -> Event:
        timeout = self._settings.lookup_timeout_s
        try:
            if effect.kind == "customer":
                found_customer = await asyncio.wait_for(self._orders.customer_by_phone(effect.key), timeout)
                return LookupDone(customer_values(found_customer) if found_customer else None)
            found_order = await asyncio.wait_for(self._orders.order_by_number(effect.key), timeout)
            return LookupDone(order_context_values(found_order) if found_order else None)
        except Exception as exc:
            self._caught("ivr_lookup_failed")
            log.warning("ivr_lookup_failed", kind=effect.kind, error=describe(exc))
            return LookupDone(None, failed=True)

    async def _callback(self, session: AgiSession, effect: CreateCallback) -> Event:
        request = CallbackRequest(call_id=session.call_id, number=effect.number,
                                  reason=effect.reason, language=effect.language,
                                  customer_id=effect.customer_id, order_number=effect.order_number,
                                  voicemail=effect.voicemail, caller_name=session.start.caller_name)
        try:
            ticket = await asyncio.wait_for(self._callbacks.create_callback(request),
                                            self._settings.sink_timeout_s)
        except Exception as exc:
            self._caught("ivr_callback_failed")
            log.warning("ivr_callback_failed", error=describe(exc))
            return CallbackDone(None)
        log.info("ivr_callback_created", ticket_id=ticket)
        return CallbackDone(ticket)

    async def _recording(self, session: AgiSession, effect: Record) -> Event:
        session.recordings += 1
        settings = self._settings
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in session.call_id)
        path = f"{settings.record_dir}/{safe}-{effect.name}-{session.recordings}"
        command = cmd.record_file(path, settings.record_format, effect.escape_digits,
                                  effect.max_seconds * 1000, effect.beep, effect.silence_seconds)
        result = await session.send(command, effect.max_seconds + settings.command_timeout_s)
        if result.code == 200 and result.result is not None and result.result < 0:
            if result.data == "hangup" and (result.endpos or 0) > 0:
                # The caller hung up to end the message (as the prompt invites): keep it.
                return Recorded(f"{path}.{settings.record_format}", "caller hung up")
            raise AgiEnded(f"recording failed ({result.data or 'error'})")
        check(result)
        return Recorded(f"{path}.{settings.record_format}")

    async def _transfer(self, session: AgiSession, effect: Transfer) -> Event:
        if effect.dial:
            await session.run(cmd.exec_app("Dial", f"{effect.dial},{effect.timeout_s}"),
                              effect.timeout_s + self._settings.hold_timeout_s)
            status = await session.run(cmd.get_variable("DIALSTATUS"))
            return TransferDone(status.data)
        if self._redirector is None:
            raise AgiError("transfer to an extension needs a redirector (AMI Redirect)")
        assert effect.context is not None and effect.exten is not None
        await session.set_state("transferred")
        await asyncio.wait_for(self._redirector.redirect(session.start.channel, effect.context,
                                                         effect.exten, effect.priority),
                               self._settings.sink_timeout_s)
        raise Stop(f"redirected to {effect.exten}@{effect.context}")
