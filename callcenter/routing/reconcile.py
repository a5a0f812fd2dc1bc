"""After a reconnect, once the tracker holds what Asterisk reports: make every agent's routing
state match the agent legs that really exist.

- offered, but the call is gone: the call is hung up for routing; offered with no agent leg at
  all: the offer was never carried out (not a miss); offered and bridged: answered;
- talking, but the call is gone or the agent's leg is: the talk is over (wrap-up);
- an agent with a live leg bridged to a call the router does not see them on: answered there
  (reality wins);
- paused "missed" for an offer that timed out while the server was blind: ready again;
- after a restart, paused ``restored`` (or anything but talking) with the leg up on a live call
  routing does not know (a callback rebuilt as such, any call the tracker rebuilt with the
  agent's leg): talking on that call, with wrap-up when it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import structlog

from callcenter.agents.model import AgentState
from callcenter.calls.model import Call, CallState, Direction
from callcenter.routing import events as ev
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferAdapter
from callcenter.routing.views import AgentStatus

log = structlog.get_logger("callcenter.routing")

CallOf = Callable[[str], Call | None]
Legs = dict[str, tuple[str, bool]]  # agent id -> (call id, bridged)


def reconcile(offers: OfferAdapter, engine: RoutingEngine, call_of: CallOf,
              live_calls: Iterable[Call] = (), skill_of: Callable[[str], str] | None = None
              ) -> dict[str, int]:
    """Correct the router from the live calls (``live_calls``: every call the tracker has
    live, for the talks routing does not know; ``skill_of``: a call's skill as stored, for the
    wrap-up after such a talk); returns what was corrected, by kind."""
    fixed: dict[str, int] = {}
    restored = _restore_talks(offers, engine, live_calls, skill_of or (lambda _: ""))
    if restored:
        fixed["talk_restored"] = restored
    legs = live_agent_legs(offers, call_of)
    for status in engine.agent_statuses():
        kind = _fix(offers, engine, status, legs.get(status.agent_id), call_of)
        if kind:
            fixed[kind] = fixed.get(kind, 0) + 1
    offers.blind_since = None
    if fixed:
        log.warning("routing_reconciled", **fixed)
    return fixed


def _fix(offers: OfferAdapter, engine: RoutingEngine, status: AgentStatus,
         leg_call: tuple[str, bool] | None, call_of: CallOf) -> str:
    agent_id, call_id = status.agent_id, status.call_id
    now = engine.now()
    if status.state is AgentState.OFFERED and call_id is not None:
        return _fix_offered(offers, engine, agent_id, call_id, leg_call, call_of)
    if status.state is AgentState.TALKING and call_id is not None:
        return _fix_talking(offers, engine, call_id, leg_call, call_of)
    if leg_call is not None and leg_call[1] and call_id != leg_call[0] \
            and status.state is not AgentState.TALKING:
        offers.answered(leg_call[0], agent_id, now)
        return "answered_unseen"
    if status.state is AgentState.PAUSED and status.reason == "missed" \
            and offers.blind_since is not None and status.since >= offers.blind_since:
        engine.submit(ev.AgentReady(agent_id, now))
        return "missed_while_blind"
    return ""


def _fix_offered(offers: OfferAdapter, engine: RoutingEngine, agent_id: str, call_id: str,
                 leg_call: tuple[str, bool] | None, call_of: CallOf) -> str:
    now = engine.now()
    call = call_of(call_id)
    if call is None or not call.live:
        offers.forget(call_id)
        engine.submit(ev.CallHungUp(call_id, now))
        return "offer_call_gone"
    if leg_call is not None and leg_call[0] == call_id and leg_call[1]:
        offers.answered(call_id, agent_id, now)
        return "offer_answered"
    if leg_call is None or leg_call[0] != call_id:
        offers.drop_offer(call_id)
        engine.submit(ev.OfferFailed(call_id, agent_id, "not_sent", now))
        return "offer_without_leg"
    return ""


def _fix_talking(offers: OfferAdapter, engine: RoutingEngine, call_id: str,
                 leg_call: tuple[str, bool] | None, call_of: CallOf) -> str:
    now = engine.now()
    call = call_of(call_id)
    if call is None or not call.live:
        offers.forget(call_id)
        engine.submit(ev.CallHungUp(call_id, now))
        return "talk_call_gone"
    if leg_call is None or leg_call[0] != call_id:
        offers.talk_over(call_id)
        engine.submit(ev.TalkEnded(call_id, now))
        return "talk_without_leg"
    return ""


def _restore_talks(offers: OfferAdapter, engine: RoutingEngine, live_calls: Iterable[Call],
                   skill_of: Callable[[str], str]) -> int:
    """Agents not talking in the router whose leg is up on a live call routing does not know
    (talking, or a callback whose agent answered): talking on it again."""
    routed = set(offers.routed_call_ids())
    restored = 0
    for call in live_calls:
        leg = call.agent
        if not call.live or call.linkedid in routed or leg is None or leg.ended_at is not None \
                or (call.state is not CallState.TALKING and call.direction is not Direction.CALLBACK):
            continue
        agent_id = offers.phones.agent_for_channel(leg.channel)
        if agent_id is None or not engine.has_agent(agent_id):
            continue
        status = engine.agent_status(agent_id)
        if status.call_id is not None or status.state in (AgentState.OFFLINE, AgentState.TALKING):
            continue
        caller = call.caller
        offers.talk_restored(call.linkedid, agent_id, caller.channel if caller is not None else "",
                             skill_of(call.linkedid))
        routed.add(call.linkedid)
        restored += 1
    return restored


def live_agent_legs(offers: OfferAdapter, call_of: CallOf) -> Legs:
    """Agent id -> (call id, bridged) for every live agent leg of a call routing knows."""
    out: Legs = {}
    for call_id in offers.routed_call_ids():
        call = call_of(call_id)
        if call is None or not call.live:
            continue
        for leg in call.legs.values():
            if leg.uniqueid == call.caller_uniqueid or leg.ended_at is not None:
                continue
            agent_id = offers.phones.agent_for_channel(leg.channel)
            if agent_id is not None:
                bridged = call.agent is leg and call.bridged_at is not None
                if bridged or agent_id not in out:
                    out[agent_id] = (call_id, bridged)
    return out
