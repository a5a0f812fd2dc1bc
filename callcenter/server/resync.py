"""The running server, and how it rebuilds the live calls after the AMI link (re)connects.

Asterisk's lists (``CoreShowChannels``, ``BridgeList``) are merged with the stored calls: calls
stored as live that Asterisk no longer has are ended with an honest reason, IVR sessions are
adopted, and callers left waiting on hold by a previous process are queued again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from callcenter.ami import messages
from callcenter.ami.client import AmiClient
from callcenter.calls.dispatch import CallDispatcher
from callcenter.calls.model import Call, CallState, Direction
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.clock import Clock
from callcenter.console.hub import ConsoleHub
from callcenter.metrics import Metrics, count_caught
from callcenter.routing.agent_service import AgentService
from callcenter.routing.callback_store import CallbackStore
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.handoff import RoutingHandoff
from callcenter.routing.offers import OfferAdapter
from callcenter.routing.reconcile import reconcile
from callcenter.runtime.supervisor import Supervisor
from callcenter.runtime.watchdog import Watchdog
from callcenter.settings import Settings
from callcenter.store.db import Database
from callcenter.store.rows import stored_object
from ivr.agi_session import CallStart
from ivr.effects import HeldPlace, RouteRequirements
from ivr.runner import IvrRunner

log = structlog.get_logger("callcenter.server")


@dataclass
class Server:
    """The running parts, for the CLI, the demo and the tests."""

    settings: Settings
    database: Database
    metrics: Metrics
    ami: AmiClient
    tracker: CallTracker
    recorder: CallRecorder
    calls: CallStore
    engine: RoutingEngine
    agents: AgentService
    offers: OfferAdapter
    ivr: IvrRunner
    clock: Clock
    watchdog: Watchdog
    supervisor: Supervisor  # runs every loop
    console: ConsoleHub
    handoff: RoutingHandoff  # the IVR's way into routing (requeue after a restart)
    dispatcher: CallDispatcher  # the calls' events (also those of the rebuilt calls)
    http: web.AppRunner = field(init=False)  # set once HTTP is served
    http_port: int = field(init=False, default=0)
    reconciling: bool = False  # rebuilding the live calls from Asterisk's lists
    reconciled: bool = False  # done since the link last came up (healthz)
    resyncs: int = 0

    async def resync(self) -> None:
        """Rebuild live calls from Asterisk after (re)connecting, merged with what is stored."""
        self.reconciling = True
        try:
            await self._resync()
            self.reconciled = True
        finally:
            self.reconciling = False

    async def _resync(self) -> None:
        asked_at = self.clock.now()
        channels = await self.ami.send(messages.core_show_channels())
        bridges = await self.ami.send(messages.bridge_list())
        happened = self.tracker.rebuild(channels.items, bridges.items, now=self.clock.now(),
                                        asked_at=asked_at)
        changed = {event.call_id for event in happened}
        live = [c.linkedid for c in self.tracker.live_calls()]
        stored = await self.calls.load_live(live)
        for call in self.tracker.live_calls():
            record = stored.get(call.linkedid)
            if record is not None:
                self.calls.restore(call, record)
        self.recorder.resume_sequences(await self.calls.event_sequences(
            [uid for c in self.tracker.live_calls() for uid in c.legs]))
        callback_skills = await self._callback_skills()  # read before deliver: reconcile follows it at once
        # calls stored as live that Asterisk no longer has: from a previous run of the server
        # (or one this run lost sight of), ended with an honest reason
        closed = await self.calls.close_unseen(
            [c.linkedid for c in self.tracker.calls.values()], asked_at,
            "link_down" if self.resyncs else "server_down")
        self.resyncs += 1
        self.dispatcher.deliver(happened)
        fixed = reconcile(self.offers, self.engine, self.tracker.calls.get, self.tracker.live_calls(),
                          lambda call_id: self._restored_skill(call_id, stored, callback_skills))
        adopted = self.ivr.adopt(channels.items, self._may_start_ivr)
        requeued = await self._requeue_held(stored)
        held = self.ivr.keep_holding(channels.items, lambda start: self._held_place(start, stored))
        log.info("ami_resynced", live_calls=len(live), changed=len(changed), closed=len(closed),
                 ivr_adopted=len(adopted), requeued=len(requeued), ivr_held=len(held), **fixed)

    async def _callback_skills(self) -> dict[str, str]:
        """The skills of the live callbacks (their ``callbacks`` rows, by the original call);
        unreadable: none (their talks then wrap up as other talks found going on)."""
        originals = [c.callback_of for c in self.tracker.live_calls()
                     if c.direction is Direction.CALLBACK and c.callback_of]
        try:
            return await CallbackStore(self.database.pool).skills(originals)
        except Exception as exc:
            count_caught(self.metrics, "restored_callback_skills_unread")
            log.warning("restored_callback_skills_unread", error=f"{type(exc).__name__}: {exc}"[:300])
            return {}

    def _restored_skill(self, call_id: str, stored: Mapping[str, Mapping[str, Any]],
                        callback_skills: Mapping[str, str]) -> str:
        call = self.tracker.calls.get(call_id)
        if call is None:
            return _stored_skill(stored.get(call_id))
        return restored_skill(call, stored.get(call_id), callback_skills)

    async def _requeue_held(self, stored: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Callers waiting on hold whom the router does not know (a restarted server: the hold
        music goes on under AGI, the queue was in the old process) are queued again with the
        requirements the IVR stored, longest waiting first, so they keep their order."""
        held = sorted((c for c in self.tracker.live_calls()
                       if c.queued_at is not None and c.answered_at is None and c.bridged_at is None
                       and c.caller is not None and c.linkedid in stored
                       and self.engine.call_status(c.linkedid) is None),
                      key=lambda c: c.queued_at or 0.0)
        requeued: list[str] = []
        for call in held:
            record = stored[call.linkedid]
            requirements = queued_requirements(record["ivr_path"])
            caller = call.caller
            if requirements is None or caller is None:
                continue
            await self.handoff.enqueue(call.linkedid, caller.channel, requirements, stored_context(record))
            requeued.append(call.linkedid)
        return requeued

    def _held_place(self, start: CallStart, stored: Mapping[str, Mapping[str, Any]]) -> HeldPlace | None:
        """A channel in AGI (or its hold music) that no IVR session serves: the caller's place
        when the call waits in the queue the router has (restored), else None."""
        key = self.tracker.call_key_for_uniqueid(start.uniqueid) or start.linkedid
        call, record = self.tracker.calls.get(key), stored.get(key)
        if call is None or record is None or call.queued_at is None or call.answered_at is not None \
                or call.bridged_at is not None or self.engine.call_status(key) is None:
            return None
        place = queued_place(record["ivr_path"])
        if place is None:
            return None
        return replace(place, context=stored_context(record))

    def _may_start_ivr(self, start: CallStart, kind: str) -> bool:
        """A channel in AGI that no IVR session serves: restart its flow unless it is a caller
        holding a place in the queue (hold music runs under AGI too) or already answered."""
        if kind != "inbound":
            return True
        key = self.tracker.call_key_for_uniqueid(start.uniqueid) or start.linkedid
        call = self.tracker.calls.get(key)
        if call is not None and (call.queued_at is not None or call.answered_at is not None
                                 or call.state is not CallState.IVR):
            return False
        return self.engine.call_status(key) is None


def stored_context(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored call's IVR context (JSON text or a mapping; empty when unreadable)."""
    return stored_object(record["context"])


def restored_skill(call: Call, record: Mapping[str, Any] | None,
                   callback_skills: Mapping[str, str]) -> str:
    """The skill of a talk found going on after a restart (its wrap-up, where the KPIs count
    it): a callback's is its own (``callback_skills``: the original call's id -> the skill of
    its ``callbacks`` row), whatever route the IVR stored; any other call's, the IVR's last
    stored ``queued`` step ("" when neither is known)."""
    if call.direction is Direction.CALLBACK and call.callback_of:
        skill = callback_skills.get(call.callback_of, "")
        if skill:
            return skill
    return _stored_skill(record)


def _stored_skill(record: Mapping[str, Any] | None) -> str:
    requirements = queued_requirements(record["ivr_path"]) if record is not None else None
    return requirements.skill if requirements is not None else ""


def queued_requirements(path: Any) -> RouteRequirements | None:
    """The routing requirements of the IVR's last ``queued`` step in a stored ``ivr_path``."""
    place = queued_place(path)
    return place.requirements if place is not None else None


def queued_place(path: Any) -> HeldPlace | None:
    """The IVR's last ``queued`` step in a stored ``ivr_path``: requirements, route node, the
    route's music class and max_wait, and when the call was queued."""
    try:
        entries = json.loads(path) if isinstance(path, str) else path
    except ValueError:
        return None
    for entry in reversed(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and entry.get("kind") == "queued" and entry.get("skill"):
            tags = entry.get("tags")
            requirements = RouteRequirements(str(entry["skill"]), _whole(entry.get("min_level"), 1),
                                             str(entry.get("language") or "en"),
                                             _whole(entry.get("priority"), 0),
                                             tuple(str(t) for t in tags) if isinstance(tags, list) else ())
            max_wait = _whole(entry.get("max_wait"), 0)
            return HeldPlace(requirements, str(entry.get("node") or ""), str(entry.get("hold") or "default"),
                             max_wait if max_wait > 0 else None, _instant(entry.get("at")))
    return None


def _whole(value: Any, default: int) -> int:
    """A stored whole number; ``default`` when it is missing or unreadable (a damaged row must
    not stop the resync of every other call)."""
    if isinstance(value, bool):
        return default
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError, OverflowError):
        return default


def _instant(value: Any) -> datetime | None:
    """A stored ISO time (with its offset), or None when it is missing or unreadable."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


