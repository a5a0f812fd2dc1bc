"""What to send to Asterisk for an agent's action on their call: pure, no I/O.

Hold keeps the agent's leg in its bridge with the caller (it is an Originate running
``Bridge()``: redirected out of the bridge it would hang up): the agent's audio is muted both
ways (``MuteAudio``) and a hold-music channel (``Local/<n>@cc-hold-music/n``) whispers the
music to the caller (``ChanSpy(<caller>,qwES)``). Resume hangs that channel up (by its name's
prefix, a ``/regex/`` Hangup) and unmutes the agent, keeping the agent's own mute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from callcenter.ami import messages
from callcenter.ami.messages import Action
from callcenter.calls.tracker import AGENT_PARTY_HEADER
from callcenter.control.transfers import SKILL_EXTEN, TRANSFER_CONTEXT

HOLD_CONTEXT = "cc-hold-music"


class Verb(StrEnum):
    HANGUP = "hangup"
    HOLD = "hold"
    RESUME = "resume"
    MUTE = "mute"
    UNMUTE = "unmute"
    TRANSFER = "transfer"
    CONSULT = "consult"  # these four: callcenter.control.consult
    COMPLETE = "complete"
    CANCEL = "cancel"
    CONFERENCE = "conference"


@dataclass(frozen=True, slots=True)
class CallView:
    """The call as the tracker knows it, for the planner."""

    call_id: str
    live: bool
    talking: bool
    caller_channel: str
    agent_channel: str


@dataclass(frozen=True, slots=True)
class Control:
    """What the server did to the call: on hold (``hold_token`` names the music channel),
    the agent muted."""

    held: bool = False
    hold_token: str = ""
    muted: bool = False
    ended: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action | messages.Originate, ...]
    state: Control


class Refused(Exception):
    """The action cannot be carried out on this call now."""

    def __init__(self, status: int, message: str, error_id: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_id = status, message, error_id


def mute_audio(channel: str, direction: str, on: bool) -> Action:
    return Action("MuteAudio", (("Channel", channel), ("Direction", direction),
                                ("State", "on" if on else "off")))


def hold_channel_prefix(token: str) -> str:
    return f"Local/{token}@{HOLD_CONTEXT}-"


def plan(call: CallView, state: Control, verb: Verb, token: str = "", target: str = "") -> Plan:
    """The actions for ``verb``; ``token`` (digits) names a new hold-music channel, ``target``
    the skill a transfer goes to.

    Raises:
        Refused: 409 for a call that is over or not connected, or an action that does not fit
        the call's control state (holding a held call, a second hang-up).
    """
    if not call.live or state.ended:
        raise Refused(409, "the call has ended", "call_ended")
    if not call.talking or not call.agent_channel:
        raise Refused(409, "the call is not connected to you", "not_talking")
    if verb is Verb.TRANSFER:
        return _transfer(call, state, target)
    return _PLANNERS[verb](call, state, token)


def _hangup(call: CallView, state: Control, token: str) -> Plan:
    del token
    action = Action("Hangup", (("Channel", call.agent_channel), ("Cause", "16"),
                               (AGENT_PARTY_HEADER, "agent")))
    return Plan((action, *stop_music(state)), replace(state, ended=True, held=False))


def _hold(call: CallView, state: Control, token: str) -> Plan:
    if state.held:
        raise Refused(409, "the call is already on hold", "already_held")
    if not token.isdigit() or len(token) < 2:  # [cc-hold-music] matches _X.
        raise ValueError("a hold needs a numeric token of two digits or more")
    music = messages.Originate(channel=f"Local/{token}@{HOLD_CONTEXT}/n", application="ChanSpy",
                               data=f"{call.caller_channel},qwES", timeout_ms=10_000,
                               caller_id='"Hold"', variables={"CC_HOLD": call.call_id})
    return Plan((mute_audio(call.agent_channel, "all", True), music),
                replace(state, held=True, hold_token=token))


def _resume(call: CallView, state: Control, token: str) -> Plan:
    del token
    if not state.held:
        raise Refused(409, "the call is not on hold", "not_held")
    actions: list[Action | messages.Originate] = [*stop_music(state),
                                                  mute_audio(call.agent_channel, "all", False)]
    if state.muted:
        actions.append(mute_audio(call.agent_channel, "in", True))
    return Plan(tuple(actions), replace(state, held=False, hold_token=""))


def stop_music(state: Control) -> tuple[Action, ...]:
    """Hang up the hold music (nothing when the call is not on hold)."""
    if not state.held or not state.hold_token:
        return ()
    pattern = "^" + re.escape(hold_channel_prefix(state.hold_token))
    return (Action("Hangup", (("Channel", f"/{pattern}/"), ("Cause", "16"))),)


def _mute(call: CallView, state: Control, token: str) -> Plan:
    del token
    if state.muted:
        raise Refused(409, "you are already muted", "already_muted")
    # on hold the agent is muted both ways already: resume keeps this mute
    actions = () if state.held else (mute_audio(call.agent_channel, "in", True),)
    return Plan(actions, replace(state, muted=True))


def _unmute(call: CallView, state: Control, token: str) -> Plan:
    del token
    if not state.muted:
        raise Refused(409, "you are not muted", "not_muted")
    actions = () if state.held else (mute_audio(call.agent_channel, "in", False),)
    return Plan(actions, replace(state, muted=False))


def _transfer(call: CallView, state: Control, skill: str) -> Plan:
    """Blind transfer: Asterisk sends the agent's peer (the caller) to ``[cc-transfer]`` at the
    skill's extension (seen in the ``BlindTransfer`` event and the call's legs), whose
    ``AGI(agi:async)`` brings the caller back to routing; the agent's leg hangs up. A held call
    is transferred too: its music is stopped and the caller leaves the bridge anyway."""
    if not SKILL_EXTEN.match(skill):
        raise ValueError(f"a skill the transfer context cannot match: {skill!r}")
    action = Action("BlindTransfer", (("Channel", call.agent_channel),
                                      ("Context", TRANSFER_CONTEXT), ("Exten", skill)))
    return Plan((*stop_music(state), action), replace(state, ended=True, held=False))


_PLANNERS = {Verb.HANGUP: _hangup, Verb.HOLD: _hold, Verb.RESUME: _resume, Verb.MUTE: _mute,
             Verb.UNMUTE: _unmute}
