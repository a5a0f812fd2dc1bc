"""Per-agent event feeds and the screen-pop.

The routing layer calls :meth:`ConsoleHub.on_ringing` the moment an agent's phone starts
ringing; the dispatcher tells it when the call is answered (``Bridged``) and when it ends.
That never waits: the pop is built in a task. If the order lookup answers within
``deadline_s`` the agent gets the full pop at once; otherwise they get it at once marked
``pending`` and the rest follows as ``pop_update`` (or ``unavailable``). Each agent's events
carry increasing sequence numbers and the last ``keep`` are kept, so a browser that lost its
connection asks for what came after its last number and catches up; one that is too far behind
gets a snapshot (the current call's pop and the agent's state).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from callcenter.agents.model import AgentState
from callcenter.calls.events import (
    Bridged,
    CallbackStarted,
    CallEnded,
    CallerHungUp,
    CallEvent,
    Transferred,
)
from callcenter.clock import wall_time
from callcenter.console.pop import context_json, ivr_json
from callcenter.metrics import Metrics, count_caught
from callcenter.orders.model import CustomerContext, OrderContext
from callcenter.orders.provider import OrderContextProvider, OrderLookupError
from callcenter.routing.decisions import AgentStateChanged
from callcenter.routing.offers import OfferRinging
from callcenter.store import console as console_store

log = structlog.get_logger("callcenter.console")

@dataclass
class Feed:
    keep: int
    seq: int = 0
    events: deque[dict[str, Any]] = field(default_factory=deque)
    queues: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)
    pop: dict[str, Any] | None = None  # the current call's pop (for snapshots)
    state: dict[str, Any] | None = None
    control: dict[str, Any] | None = None  # the current call's hold / mute (for snapshots)


class ConsoleHub:
    def __init__(self, provider: OrderContextProvider, pool: console_store.ConsoleDb,
                 ivr_summary: Callable[[str], dict[str, Any]], *, deadline_s: float = 0.25,
                 lookup_timeout_s: float = 5.0, keep: int = 200,
                 agent_for_channel: Callable[[str], str | None] | None = None,
                 clock: Callable[[], float] = wall_time, metrics: Metrics | None = None) -> None:
        self._clock = clock
        self._metrics = metrics
        self._agent_for_channel = agent_for_channel
        self._provider = provider
        self._pool = pool
        self._ivr = ivr_summary
        self._deadline = deadline_s
        self._lookup_timeout = lookup_timeout_s
        self._keep = keep
        self._feeds: dict[str, Feed] = {}
        self._ringing: dict[str, str] = {}  # call id -> agent whose phone rings with it
        self._talking: dict[str, str] = {}  # call id -> agent who answered it
        self._caller_gone: set[str] = set()  # ringing calls whose caller hung up (end under way)
        # a callback is a call of its own: the original call's id -> the callback call's id,
        # from its CallbackStarted until it ends (routing names it by the original call)
        self._callbacks: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.pops = 0

    # --- feeds ---------------------------------------------------------------------------

    def feed(self, agent_id: str) -> Feed:
        return self._feeds.setdefault(agent_id, Feed(self._keep))

    def publish(self, agent_id: str, event: dict[str, Any]) -> dict[str, Any]:
        feed = self.feed(agent_id)
        feed.seq += 1
        stamped = {**event, "seq": feed.seq, "sent_at": self._clock()}
        if event.get("type") == "control":
            feed.control = None if event.get("ended") else stamped
        elif event.get("type") in ("answered", "call_ended"):
            feed.control = None
        feed.events.append(stamped)
        while len(feed.events) > feed.keep:
            feed.events.popleft()
        for queue in list(feed.queues):
            try:
                queue.put_nowait(stamped)
            except asyncio.QueueFull:  # a stuck browser: it will catch up from the buffer
                feed.queues.discard(queue)
        return stamped

    def since(self, agent_id: str, seq: int) -> list[dict[str, Any]] | None:
        """Events after ``seq``; None when some of them are no longer kept (snapshot needed)."""
        feed = self.feed(agent_id)
        if seq >= feed.seq:
            return []
        if not feed.events or feed.events[0]["seq"] > seq + 1:
            return None
        return [e for e in feed.events if e["seq"] > seq]

    def snapshot(self, agent_id: str) -> dict[str, Any]:
        feed = self.feed(agent_id)
        return {"type": "snapshot", "seq": feed.seq, "pop": feed.pop, "state": feed.state,
                "control": feed.control}

    @contextlib.contextmanager
    def listen(self, agent_id: str) -> Any:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(500)
        self.feed(agent_id).queues.add(queue)
        try:
            yield queue
        finally:
            self.feed(agent_id).queues.discard(queue)

    # --- from routing and the tracker ----------------------------------------------------

    def on_ringing(self, ringing: OfferRinging) -> None:
        """OfferAdapter hook: the agent's phone rings. Never blocks routing."""
        self._ringing[self._shown_id(ringing)] = ringing.agent_id
        self._spawn(self._pop(ringing))

    def _shown_id(self, ringing: OfferRinging) -> str:
        """The call the agent's screen names: for a callback, the callback's own call once
        its agent channel was seen (the controls and the call's end are about that one)."""
        if ringing.callback is None:
            return ringing.call_id
        return self._callbacks.get(ringing.call_id, ringing.call_id)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attribute(self, write: Awaitable[None]) -> None:
        """Who took the call, who called: written on the call row. A customer unknown to this
        database (an HTTP provider's) is skipped."""
        try:
            await write
        except asyncpg.ForeignKeyViolationError:
            pass
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("call_attribution_failed", error=str(exc))

    def on_agent_state(self, change: AgentStateChanged) -> None:
        """AgentService listener: the agent's own state, for their screen."""
        state = {"state": change.state.value, "reason": change.reason, "call_id": change.call_id,
                 "since": change.at}
        self.feed(change.agent_id).state = state
        self.publish(change.agent_id, {"type": "state", **state})
        if change.previous is AgentState.OFFERED and change.state is not AgentState.TALKING:
            # the offer is over unanswered (missed, rejected, busy): no pop left; a caller who
            # hung up gets the call's end instead
            for call_id, agent in list(self._ringing.items()):
                if agent == change.agent_id and call_id not in self._caller_gone:
                    self.forget_offer(call_id, agent)

    def on_call_event(self, event: CallEvent) -> None:
        """Dispatcher subscriber (the console stage)."""
        if isinstance(event, Bridged):
            self._answered(event)
        elif isinstance(event, CallbackStarted):
            self._callback_started(event)
        elif isinstance(event, CallerHungUp):
            if event.call_id in self._ringing:
                self._caller_gone.add(event.call_id)
        elif isinstance(event, Transferred):
            self._transferred(event)
        elif isinstance(event, CallEnded):
            self._caller_gone.discard(event.call_id)
            for original, key in list(self._callbacks.items()):
                if key == event.call_id:
                    del self._callbacks[original]
            agent = self._talking.pop(event.call_id, None) or self._ringing.pop(event.call_id, None)
            if agent is not None:
                self.publish(agent, {"type": "call_ended", "call_id": event.call_id,
                                     "outcome": event.outcome.value})

    def _callback_started(self, event: CallbackStarted) -> None:
        """The agent's leg of a callback appeared: from now on the agent's screen names the
        callback's own call (a pop already shown under the original call's id is renamed)."""
        if not event.callback_of:  # rebuilt from the lists: its answer names the agent
            return
        self._callbacks[event.callback_of] = event.call_id
        agent = self._ringing.get(event.callback_of)
        if agent is None:
            return
        if self._agent_for_channel is not None \
                and self._agent_for_channel(event.agent_channel) not in (None, agent):
            return
        del self._ringing[event.callback_of]
        self._ringing[event.call_id] = agent
        feed = self.feed(agent)
        if feed.pop is not None and feed.pop.get("call_id") == event.callback_of:
            self._show(agent, {**feed.pop, "type": "pop", "call_id": event.call_id,
                               "callback_of": event.callback_of})

    def _answered(self, event: Bridged) -> None:
        talking = self._talking.get(event.call_id)
        if talking is not None and event.first:
            return
        agent = self._ringing.pop(event.call_id, None)
        if agent is None and self._agent_for_channel is not None:
            # connected without an offer (the dialplan's safety net rang the agents' phones, or
            # a colleague took over from a consult): the agent owns the phone that answered
            agent = self._agent_for_channel(event.agent_channel)
        if agent is None or agent == talking:
            return
        if talking is not None:  # the colleague of a consult or three-way talks on alone
            self.publish(talking, {"type": "call_ended", "call_id": event.call_id,
                                   "outcome": "transferred"})
        self._talking[event.call_id] = agent
        # who took the call, on the call row (the call store leaves this column alone)
        self._spawn(self._attribute(console_store.set_call_agent(self._pool, event.call_id, agent)))
        self.publish(agent, {"type": "answered", "call_id": event.call_id,
                             "answered_at": event.answered_at})

    def _transferred(self, event: Transferred) -> None:
        """The talking agent transferred the call (console or softphone): their part is over;
        the next agent's answer makes the call theirs."""
        agent = self._talking.get(event.call_id)
        if agent is None or (self._agent_for_channel is not None
                             and self._agent_for_channel(event.channel) not in (None, agent)):
            return
        del self._talking[event.call_id]
        self.publish(agent, {"type": "call_ended", "call_id": event.call_id,
                             "outcome": "transferred"})

    def share_pop(self, by: str, to: str, call_id: str, consult: dict[str, Any]) -> None:
        """The colleague ``by`` consults gets the caller's pop from ``by``'s screen, saying who
        consults them about this caller."""
        pop = self.feed(by).pop
        if pop is None or pop.get("call_id") != call_id:
            pop = {"type": "pop", "call_id": call_id}
        self._show(to, {**pop, "agent_id": to, "consult": consult})

    def agent_on_call(self, call_id: str) -> str | None:
        """The agent whose phone rings with, or who talks on, the call (live speech goes there)."""
        return self._agent_of(call_id)

    def agent_talking(self, call_id: str) -> str | None:
        """The agent talking on the call (None while it rings or when nobody is)."""
        return self._talking.get(call_id)

    def _agent_of(self, call_id: str) -> str | None:
        return self._ringing.get(call_id) or self._talking.get(call_id)

    def forget_offer(self, call_id: str, agent_id: str) -> None:
        """The offer went elsewhere (no answer): take the pop off this agent's screen."""
        if self._ringing.get(call_id) == agent_id:
            self._ringing.pop(call_id, None)
            feed = self.feed(agent_id)
            if feed.pop is not None and feed.pop.get("call_id") == call_id:
                feed.pop = None
            self.publish(agent_id, {"type": "pop_cancelled", "call_id": call_id})

    # --- the pop -------------------------------------------------------------------------

    async def _pop(self, ringing: OfferRinging) -> None:
        try:
            call_db_id = await console_store.call_row_id(self._pool, ringing.call_id)
        except (asyncpg.PostgresError, OSError):
            call_db_id = None
        summary = self._ivr(ringing.call_id)
        if ringing.callback and not summary["steps"]:  # the IVR's memory of the call is gone
            summary = {**summary, "steps": list(ringing.callback.get("ivr_path") or [])}
        base: dict[str, Any] = {
            "type": "pop", "call_id": self._shown_id(ringing), "call_db_id": call_db_id,
            "skill": ringing.skill,
            "agent_id": ringing.agent_id, "ringing_at": ringing.at,
            "caller": {"number": ringing.caller_number, "name": ringing.caller_name},
            "ivr": ivr_json(summary), "callback": ringing.callback}
        lookup = asyncio.ensure_future(self._lookup(ringing.call_id, ringing.caller_number,
                                                    base["ivr"].get("order_number")))
        if ringing.callback is not None:
            base["callback_of"] = ringing.call_id
        done, _ = await asyncio.wait({lookup}, timeout=self._deadline)
        base["call_id"] = self._shown_id(ringing)
        if self._agent_of(base["call_id"]) != ringing.agent_id:
            lookup.cancel()  # the offer was over before the pop was ready
            return
        if done:
            pop = {**base, **lookup.result()}
            self._show(ringing.agent_id, pop)
            return
        self._show(ringing.agent_id, {**base, **context_json(None, None, "pending", [])})
        try:
            rest = await lookup
        except Exception as exc:  # the lookup itself never raises; belt and braces
            count_caught(self._metrics, "pop_lookup_failed")
            log.warning("pop_lookup_failed", error=str(exc))
            rest = context_json(None, None, "unavailable", [])
        base["call_id"] = self._shown_id(ringing)
        if self._agent_of(base["call_id"]) == ringing.agent_id:
            self._show(ringing.agent_id, {**base, **rest, "type": "pop_update"})

    def _show(self, agent_id: str, pop: dict[str, Any]) -> None:
        self.feed(agent_id).pop = pop
        self.pops += 1
        self.publish(agent_id, pop)

    async def _lookup(self, call_id: str, number: str, order_number: Any) -> dict[str, Any]:
        found: CustomerContext | None = None
        asked: OrderContext | None = None
        try:
            async with asyncio.timeout(self._lookup_timeout):
                if number:
                    found = await self._provider.customer_by_phone(number)
                if isinstance(order_number, str) and order_number:
                    asked = await self._provider.order_by_number(order_number)
        except (OrderLookupError, TimeoutError) as exc:
            log.warning("pop_context_unavailable", error=str(exc) or type(exc).__name__)
            return context_json(None, None, "unavailable", [])
        customer = found.customer if found else asked.customer if asked else None
        tickets: list[dict[str, Any]] = []
        if customer is not None:
            await self._attribute(console_store.set_call_customer(self._pool, call_id, customer.id))
            try:
                tickets = await console_store.open_tickets(self._pool, customer.id)
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("pop_tickets_unavailable", error=str(exc))
        return context_json(found, asked, "ok" if customer else "unknown_caller", tickets)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
