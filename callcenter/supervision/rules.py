"""Who may monitor what (pure): the call must be live with an agent talking on it, one live
session per supervisor (they have one phone), one barge per call. ``reserved`` holds the
(supervisor, call barged or "") of sessions being opened or switched."""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.calls.model import Call, CallState
from callcenter.supervision.errors import AlreadyMonitoring, BargeTaken, CallEnded, CallNotFound, NoAgentYet
from callcenter.supervision.model import Mode, Session


def spied_call(call: Call | None, call_id: str) -> Call:
    """Raises: CallNotFound, CallEnded, NoAgentYet."""
    if call is None:
        raise CallNotFound(f"no live call {call_id!r}")
    if not call.live:
        raise CallEnded("the call has ended")
    agent = call.agent
    if call.state is not CallState.TALKING or agent is None or agent.ended_at is not None:
        raise NoAgentYet("no agent is talking on this call yet")
    return call


def check_free(supervisor: str, call_id: str, mode: Mode, reserved: Iterable[tuple[str, str]],
               live: Iterable[Session]) -> None:
    """Raises: AlreadyMonitoring, BargeTaken."""
    for who, barged in reserved:
        if who == supervisor:
            raise AlreadyMonitoring("your phone is already being rung for a call")
        if mode is Mode.BARGE and barged == call_id:
            raise BargeTaken("another supervisor is starting to barge into this call")
    for session in live:
        if session.supervisor == supervisor:
            raise AlreadyMonitoring("you are already on a call; stop it or switch its mode")
        if mode is Mode.BARGE and session.mode is Mode.BARGE and session.call_id == call_id:
            raise BargeTaken(f"{session.supervisor} is already barging into this call")


def barge_free(mine: Session, reserved: Iterable[tuple[str, str]], live: Iterable[Session]) -> bool:
    """No other session barges on ``mine``'s call, nor is one being opened to."""
    call_id = mine.call_id
    return not any(barged == call_id for _, barged in reserved) and not any(
        s.mode is Mode.BARGE and s.call_id == call_id and s is not mine for s in live)


def fallback_mode(previous: Mode, wanted: Mode, error: BaseException) -> Mode | None:
    """The mode a live spy goes back to when the switch to ``wanted`` cannot be recorded: its
    ``previous`` one when the database refused a barge (another supervisor's barge row was
    written between the check and this write: a refusal, the supervisor goes on as before);
    None when the phone must not go on (any other failure: it would spy unrecorded)."""
    if wanted is Mode.BARGE and previous is not Mode.BARGE and isinstance(error, BargeTaken):
        return previous
    return None
