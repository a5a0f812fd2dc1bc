"""Consult (warm) transfer and three-way conference: what to send to Asterisk, pure, no I/O.

Asterisk's own attended transfer does the work. The agent's leg runs ``Bridge(<caller>,pT…)``
(``T``: that channel may transfer), so AMI ``Atxfer`` of the agent's channel to a numeric
token of ``[cc-consult]`` holds the caller (music on hold) and dials the colleague's phone
(``_CC_CONSULT_DIAL``, set on the agent's channel first and inherited by the transfer's Local
channel). The agent then ends the consult with the ``features.conf`` codes, injected as DTMF
received from their channel (``PlayDTMF`` with ``Receive: true``): complete (the caller talks
to the colleague, the agent's leg ends), cancel (the colleague's leg ends, the caller is back)
or three-way (all three in one bridge). The colleague hanging up during the consult cancels
it (Asterisk gives the caller back to the agent); in a three-way, whoever leaves, the other
two keep talking.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from callcenter.ami.messages import Action
from callcenter.control.plan import CallView, Control, Refused, mute_audio, stop_music

CONSULT_CONTEXT = "cc-consult"  # asterisk-conf/extensions.conf, matches _XXXXXXXX
DIAL_VARIABLE = "_CC_CONSULT_DIAL"  # one leading _: the transfer's Local channel inherits it
TRANSFER_CONTEXT_VARIABLE = "TRANSFER_CONTEXT"
# features.conf [general]: atxferabort, atxfercomplete, atxferthreeway
ABORT, COMPLETE, THREEWAY = "*1", "*2", "*3"


class Stage(StrEnum):
    """Where a consult is: the colleague's phone rings or talks to the agent (the caller
    holds), or all three talk."""

    CONSULTING = "consulting"
    CONFERENCE = "conference"


@dataclass(frozen=True, slots=True)
class Consult:
    """One consult: who asked (``by``), whom (``to``, their dial string), the token of the
    ``[cc-consult]`` extension, and when; whether the colleague answered (until then their
    phone rings: nothing to hand over or join), and the call's skill (their wrap-up's)."""

    call_id: str
    by: str
    to: str
    dial: str
    token: str
    at: float
    stage: Stage = Stage.CONSULTING
    answered: bool = False
    skill: str = ""

    @property
    def colleague_on_line(self) -> bool:
        """The colleague answered (a three-way is only ever joined after that)."""
        return self.answered or self.stage is Stage.CONFERENCE


@dataclass(frozen=True, slots=True)
class ConsultPlan:
    actions: tuple[Action, ...]
    state: Control
    consult: Consult | None


def dtmf(channel: str, code: str) -> tuple[Action, ...]:
    """A features code as DTMF received from ``channel`` (one action a digit)."""
    return tuple(Action("PlayDTMF", (("Channel", channel), ("Digit", digit), ("Receive", "true")))
                 for digit in code)


def start(call: CallView, state: Control, consult: Consult | None, asked: Consult) -> ConsultPlan:
    """Consult ``asked.to``: stop our own hold music and mutes (Asterisk holds the caller
    itself), then ``Atxfer``.

    Raises:
        Refused: 409 the call is over or not connected, or a consult is already under way.
        ValueError: a token the consult context cannot match, or an empty dial string.
    """
    _check_live(call, state)
    if consult is not None:
        raise Refused(409, "a consult is already under way", "consult_busy")
    if not (asked.token.isdigit() and len(asked.token) == 8) or not asked.dial:
        raise ValueError("a consult needs an eight-digit token and a dial string")
    actions: list[Action] = [*stop_music(state)]
    if state.held or state.muted:
        actions.append(mute_audio(call.agent_channel, "all", False))
    actions += [Action("Setvar", (("Channel", call.agent_channel), ("Variable", DIAL_VARIABLE),
                                  ("Value", asked.dial))),
                Action("Atxfer", (("Channel", call.agent_channel), ("Exten", asked.token),
                                  ("Context", CONSULT_CONTEXT)))]
    return ConsultPlan(tuple(actions), replace(state, held=False, hold_token="", muted=False),
                       asked)


def complete(call: CallView, state: Control, consult: Consult | None) -> ConsultPlan:
    """Hand the caller to the colleague; the agent's leg ends. In a three-way the agent just
    leaves (their leg hangs up), the caller and the colleague keep talking.

    Raises:
        Refused: 409 no consult under way, the colleague's phone still rings, or the call
        is over.
    """
    _check_live(call, state)
    found = _answered(_under_way(consult))
    if found.stage is Stage.CONFERENCE:
        leave = Action("Hangup", (("Channel", call.agent_channel), ("Cause", "16")))
        return ConsultPlan((leave,), replace(state, ended=True), None)
    return ConsultPlan(dtmf(call.agent_channel, COMPLETE), replace(state, ended=True), None)


def cancel(call: CallView, state: Control, consult: Consult | None) -> ConsultPlan:
    """Back to the caller: the colleague's leg ends, the caller's music stops.

    Raises:
        Refused: 409 no consult under way (or a three-way: the colleague hangs up to leave).
    """
    _check_live(call, state)
    found = _under_way(consult)
    if found.stage is Stage.CONFERENCE:
        raise Refused(409, "the three of you are talking: hang up to leave", "in_conference")
    return ConsultPlan(dtmf(call.agent_channel, ABORT), state, None)


def conference(call: CallView, state: Control, consult: Consult | None) -> ConsultPlan:
    """All three talk.

    Raises:
        Refused: 409 no consult under way, the colleague's phone still rings, or already a
        three-way.
    """
    _check_live(call, state)
    found = _answered(_under_way(consult))
    if found.stage is Stage.CONFERENCE:
        raise Refused(409, "the three of you are already talking", "in_conference")
    return ConsultPlan(dtmf(call.agent_channel, THREEWAY), state,
                       replace(found, stage=Stage.CONFERENCE))


def restore_transfer_context(agent_channel: str, context: str) -> Action:
    """``Atxfer`` leaves its context in the agent's ``TRANSFER_CONTEXT``: put back the one a
    transfer from the agent's phone (SIP REFER) needs."""
    return Action("Setvar", (("Channel", agent_channel), ("Variable", TRANSFER_CONTEXT_VARIABLE),
                             ("Value", context)))


def _check_live(call: CallView, state: Control) -> None:
    if not call.live or state.ended:
        raise Refused(409, "the call has ended", "call_ended")
    if not call.agent_channel:
        raise Refused(409, "the call is not connected to you", "not_talking")


def _under_way(consult: Consult | None) -> Consult:
    if consult is None:
        raise Refused(409, "no consult is under way", "no_consult")
    return consult


def _answered(consult: Consult) -> Consult:
    """Complete and three-way need the colleague on the line: while their phone rings,
    Asterisk's attended transfer would hand the caller to a ringing phone (a blind transfer
    the agent did not ask for), so both are refused until they answer."""
    if not consult.colleague_on_line:
        raise Refused(409, f"{consult.to}'s phone is still ringing: wait until they answer, "
                      "or go back to the caller", "colleague_ringing")
    return consult
