"""The IVR journal: each call's path and context for the store, and what the agent's screen reads.

Every step's path entries go to the :class:`~ivr.sinks.IvrRecorder` (``calls.ivr_path``), the
context's changes too (``calls.context``). In memory it keeps, for the last
``ivr.remember_calls`` calls, the caller's language and public context (sensitive values are
masked before they get here) and the steps that matter to an agent (choices, lookups, the
route): :meth:`IvrJournal.summary`, and what the survey after the call starts from.
A recorder that fails or is slow is logged, never allowed to stop the call.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

import structlog

from callcenter.settings import IvrSettings
from ivr.effects import PathEntry
from ivr.faults import Caught, describe, uncounted
from ivr.model import Scalar
from ivr.sinks import IvrRecorder
from ivr.steps import Step

log = structlog.get_logger("ivr.journal")

# the steps an agent sees on the screen-pop; the ones also logged as their own line
_SUMMARY_KINDS = ("input", "route", "lookup_result", "callback", "fallback")
_LOGGED_KINDS = ("input", "fallback", "error", "route", "lookup_result", "callback")


class IvrJournal:
    """Args:
        recorder: where each call's IVR path and context are stored.
        settings: how many calls are remembered, and for how long a write may take.
    """

    def __init__(self, recorder: IvrRecorder, settings: IvrSettings, caught: Caught = uncounted) -> None:
        self._caught = caught
        self._recorder = recorder
        self._settings = settings
        self._memory: OrderedDict[str, tuple[str, dict[str, Scalar]]] = OrderedDict()
        self._steps: dict[str, list[dict[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self._memory)

    def remembered(self, call_id: str) -> tuple[str, dict[str, Scalar]] | tuple[None, None]:
        """The call's language and public context as its last IVR run left them."""
        return self._memory.get(call_id) or (None, None)

    def forget(self, call_id: str) -> None:
        self._memory.pop(call_id, None)

    def summary(self, call_id: str) -> dict[str, Any]:
        """What the caller did in the IVR, for the agent's screen: language, the public context
        (entered order number, chosen topic...; sensitive values are never in it) and the
        steps that mattered (choices, lookups, the route)."""
        remembered = self._memory.get(call_id)
        return {"language": remembered[0] if remembered else "",
                "context": dict(remembered[1]) if remembered else {},
                "steps": list(self._steps.get(call_id, []))}

    async def note(self, call_id: str, step: Step, written: Mapping[str, Scalar] | None
                   ) -> dict[str, Scalar]:
        """Keep and store one step: its path entries and the context's changes since
        ``written`` (what this run stored last; None: nothing yet). Returns the public context."""
        state = step.state
        public: dict[str, Scalar] = {**state.context, "language": state.language}
        self._remember(call_id, state.language, public)
        if step.path:
            self._keep_steps(call_id, step.path)
            await self.record(call_id, step.path)
            for entry in step.path:
                if entry.kind in _LOGGED_KINDS:
                    log.info("ivr_" + entry.kind, node=entry.node, **_loggable(entry.data))
        if written is None or public != written:
            changed = {k: v for k, v in public.items() if written is None or written.get(k) != v}
            await self._sink("update_context", self._recorder.update_context(call_id, changed))
        return public

    async def record(self, call_id: str, entries: Iterable[PathEntry]) -> None:
        """Append path entries to the call's stored path."""
        rows = [entry.to_json() for entry in entries]
        await self._sink("append_path", self._recorder.append_path(call_id, rows))

    def _remember(self, call_id: str, language: str, public: dict[str, Scalar]) -> None:
        self._memory[call_id] = (language, public)
        self._memory.move_to_end(call_id)
        while len(self._memory) > self._settings.remember_calls:
            self._memory.popitem(last=False)

    def _keep_steps(self, call_id: str, path: Iterable[PathEntry]) -> None:
        steps = self._steps.setdefault(call_id, [])
        steps.extend({"node": e.node, "kind": e.kind, **_loggable(e.data)} for e in path
                     if e.kind in _SUMMARY_KINDS)
        del steps[:-self._settings.summary_steps]
        while len(self._steps) > self._settings.remember_calls:
            self._steps.pop(next(iter(self._steps)))

    async def _sink(self, what: str, call: Awaitable[None]) -> None:
        try:
            async with asyncio.timeout(self._settings.sink_timeout_s):  # in this task: no hop
                await call
        except Exception as exc:
            self._caught("ivr_recorder_failed")
            log.warning("ivr_recorder_failed", what=what, error=describe(exc))


def _loggable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k if k not in ("event", "level", "timestamp") else f"ivr_{k}": v for k, v in data.items()}
