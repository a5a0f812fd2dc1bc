"""A caller an agent transferred to a skill queue comes back to AGI in the transfer context:
route them, straight away, with what their call already knew.

The server's transfer desk (``callcenter.control.transfers``) holds the ticket: the skill, who
transferred, their note. The route keeps the call's language, IVR context (customer, order,
topic...), priority and tags of the call's last route, adds the ``transferred`` tag (a priority
boost in the routing policy) and puts the transfer's facts in the context, where the next
agent's screen-pop reads them. A caller found in the transfer context with no ticket (the
server restarted meanwhile) goes to the fallback skill, as after any IVR failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from ivr.effects import OFFER_PROMPTS, CallInfo, Route, RouteRequirements
from ivr.model import Flow, Scalar
from ivr.steps import InterpreterConfig, IvrState, Step, Trail, public_context, resolved

TRANSFER_CONTEXT = "cc-transfer"  # asterisk-conf/extensions.conf
TRANSFERRED = "transferred"


class TransferInfo(Protocol):
    @property
    def skill(self) -> str: ...

    def context(self) -> Mapping[str, Scalar]: ...


Transfers = Callable[[str], TransferInfo | None]


def last_route(steps: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The call's last ``route`` step of the IVR summary (its skill, priority, tags)."""
    found: Mapping[str, Any] = {}
    for step in steps:
        if step.get("kind") == "route":
            found = step
    return found


def transfer_step(flow: Flow, call: CallInfo, config: InterpreterConfig, now: datetime,
                  ticket: TransferInfo, remembered: tuple[str | None, Mapping[str, Scalar] | None],
                  route: Mapping[str, Any]) -> Step:
    """Route to ``ticket.skill`` (none: an outside number did not answer, the skill of the
    call's last ``route``) with the call's ``remembered`` language and context and the tags and
    priority of its last ``route``."""
    language, context = remembered
    skill = ticket.skill or str(route.get("skill") or "") or config.fallback_skill
    lang = language if language in flow.languages else flow.default_language
    tags = route.get("tags")
    kept = {str(t) for t in tags} if isinstance(tags, list) else set()
    priority = route.get("priority")
    state = IvrState(flow=flow, call=call, config=config, language=lang,
                     context={**(context or {}), **ticket.context(), "language": lang},
                     stage="safe_hold", in_fallback=True, skill=skill,
                     priority=priority if isinstance(priority, int) else 0,
                     tags=tuple(sorted(kept | {TRANSFERRED})))
    requirements = RouteRequirements(skill=skill, language=lang, priority=state.priority,
                                     tags=state.tags)
    trail = Trail(now)
    trail.note("", "route", transferred=True, **requirements.to_json())
    # the target skill's callback offer is played to a transferred caller too, in their language
    return trail.step(state, Route(requirements, public_context(state),
                                   offer_prompts=resolved(state, OFFER_PROMPTS)))
