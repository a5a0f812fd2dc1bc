"""The callback edge on a fake AMI sender and a real PostgreSQL: router, engine, adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from callcenter.ami.messages import Action, AmiEvent, AmiResponse, Originate
from callcenter.ami.parser import Frame
from callcenter.calls.model import Call
from callcenter.orders.tickets import CallbackTickets
from callcenter.routing import events as ev
from callcenter.routing.callback_store import CallbackStore
from callcenter.routing.callbacks import CallbackAdapter
from callcenter.routing.decisions import Decision, OfferCallback
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferRinging
from callcenter.routing.router import Router
from tests.routing.helpers import agent, policy

GENERAL = {"steps": [{"after_s": 0}, {"after_s": 60, "offer_callback": True}],
           "callback_attempts": 2, "callback_retry_s": 60, "callback_ring_s": 25,
           "ring_timeout_s": 15, "wrap_up_s": 10}


@dataclass
class Rig:
    pool: asyncpg.Pool
    now: float = 1_000_000.0
    sent: list[Action] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    offers_heard: list[OfferCallback] = field(default_factory=list)
    refuse: bool = False
    ringing: list[OfferRinging] = field(default_factory=list)
    calls: dict[str, Call] = field(default_factory=dict)  # the tracker's calls

    def __post_init__(self) -> None:
        self.engine = RoutingEngine(Router(policy(general=GENERAL), [agent("ann", {"general": 1}, ("en", "zh"))],
                                           start=self.now), clock=lambda: self.now)
        self.store = CallbackStore(self.pool, clock=lambda: self.now)
        self.adapter = CallbackAdapter(self.engine, self.send, self.store,
                                       CallbackTickets(self.pool), on_offer=self.offers_heard.append,
                                       on_ringing=self.ringing.append, call_of=self.calls.get)
        self.engine.add_sink(self.decisions.extend)
        self.engine.add_sink(self.adapter.carry_out)

    async def send(self, action: Action | Originate, timeout: float | None = None) -> AmiResponse:
        if isinstance(action, Originate):
            action = action.action()
        self.sent.append(action)
        return AmiResponse(Frame({"Response": "Error" if self.refuse else "Success",
                                  "ActionID": f"t-{len(self.sent)}"}, ""))

    def at(self, now: float) -> None:
        self.now = now
        self.engine.submit(ev.Tick(now))

    def event(self, name: str, **fields: str) -> None:
        self.adapter.on_ami_event(AmiEvent(Frame({"Event": name, **fields}, ""), self.now))

    def originates(self) -> list[Action]:
        return [a for a in self.sent if a.name == "Originate"]

    async def row(self, call_id: str) -> asyncpg.Record:
        await self.adapter.wait_idle()
        row = await self.pool.fetchrow("SELECT * FROM callbacks WHERE call_linkedid = $1", call_id)
        assert row is not None
        return row

    async def agent_answers(self, channel: str = "PJSIP/ann-00000001") -> None:
        """The agent's phone rings and is answered (the Originate's response, then its event)."""
        await self.adapter.wait_idle()
        self.event("Newchannel", Channel=channel, Uniqueid=f"cb.{len(self.sent)}")
        action_id = f"t-{len(self.sent)}"
        self.event("OriginateResponse", ActionID=action_id, Response="Success", Channel=channel,
                   Context="cc-callback", Exten="s", Reason="4", Uniqueid=f"cb.{len(self.sent)}")
