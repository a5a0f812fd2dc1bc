"""AsyncAGI (``AGI(agi:async)``): the ``AGI`` action queues commands, events report them.

Per command: ``AGIExecStart`` (Asterisk's own CommandId), the command's own events, then
``AGIExecEnd`` and ``AsyncAGIExec`` (the client's ``CommandId``, lower-case d, and the
URL-encoded result). A failing command ends the AGI (``AsyncAGIEnd``, ``AGISTATUS``) and the
dialplan goes on. A channel pulled into a bridge by another channel's ``Bridge()`` leaves AGI
silently: no ``AsyncAGIExec`` for the running command, no ``AsyncAGIEnd``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

import callcenter.simulator.agi_commands as cmds
from callcenter.simulator.agi_apps import Exec
from callcenter.simulator.agi_exec import (
    Answer,
    AsyncAgiBreak,
    Command,
    GetData,
    Hangup,
    SayDigits,
    Simple,
    StreamFile,
    WaitForDigit,
)
from callcenter.simulator.clock import Timer
from callcenter.simulator.model import Channel

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

AGI_VERSION = "22.11.0-rc1"
MAX_QUEUED = 1000  # a runaway client cannot grow a channel's queue without bound
_COMMANDS: dict[str, type[Command]] = {
    "ANSWER": Answer, "STREAM FILE": StreamFile, "GET DATA": GetData,
    "WAIT FOR DIGIT": WaitForDigit, "SAY DIGITS": SayDigits, "HANGUP": Hangup,
    "ASYNCAGI BREAK": AsyncAgiBreak, "EXEC": Exec, "NOOP": Simple, "VERBOSE": Simple,
    "SET VARIABLE": Simple, "GET VARIABLE": Simple,
}  # any other command: "invalid or unknown command"


class AgiRuntime:
    """The ``AGI`` action's side: find the channel's AsyncAGI and queue the command."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx

    def add_command(self, channel: str, command: str, command_id: str) -> str | None:
        """Queue a command; returns the error message Asterisk would answer, or None."""
        ch = self.pbx.find(channel)
        if ch is None or not ch.alive:
            return f"Channel {channel} does not exist."
        session = ch.activity
        if not isinstance(session, AgiSession) or session.ended or session.queued >= MAX_QUEUED:
            return "Failed to add AGI command to queue"
        session.add(command, command_id)
        return None


class AgiSession:
    """One run of ``AGI(agi:async)`` on a channel (the channel's current activity)."""

    name = "AGI"

    def __init__(self, pbx: Pbx, ch: Channel, on_end: Callable[[Channel], None]) -> None:
        self.pbx = pbx
        self.ch = ch
        self._on_end = on_end
        self._queue: deque[tuple[str, str]] = deque()
        self._dtmf: list[tuple[str, int]] = []
        self.running: Command | None = None
        self._running_ids = ("", "", "")  # (internal id, client id, command text)
        self._timer: Timer | None = None
        self.ended = False
        self.hangup_requested = False

    def start(self) -> None:
        self.pbx.channel_event(self.ch, "AsyncAGIStart", ("Env", quote(self._env(), safe=cmds.URI_SAFE)))

    def _env(self) -> str:
        ch = self.ch
        lines = [("agi_request", "async"), ("agi_channel", ch.name), ("agi_language", ch.language),
                 ("agi_type", ch.tech), ("agi_uniqueid", ch.uniqueid), ("agi_version", AGI_VERSION),
                 ("agi_callerid", ch.cid_num or "unknown"),
                 ("agi_calleridname", ch.cid_name or "unknown"), ("agi_callingpres", "0"),
                 ("agi_callingani2", "0"), ("agi_callington", "0"), ("agi_callingtns", "0"),
                 ("agi_dnid", "unknown"), ("agi_rdnis", "unknown"), ("agi_context", ch.context),
                 ("agi_extension", ch.exten), ("agi_priority", str(ch.priority)),
                 ("agi_enhanced", "0.0"), ("agi_accountcode", ch.accountcode),
                 ("agi_threadid", self.pbx.ids.thread_id())]
        return "".join(f"{k}: {v}\n" for k, v in lines) + "\n"

    # --- the queue -----------------------------------------------------------------------

    @property
    def queued(self) -> int:
        return len(self._queue)

    def add(self, command: str, command_id: str) -> None:
        self._queue.append((command, command_id))
        if self.running is None and self._timer is None:
            self._schedule()

    def _schedule(self) -> None:
        # Asterisk polls the queue: about 100 ms on Local channels, one 20 ms frame on PJSIP.
        delay = 0.1 if self.ch.is_local else 0.02
        self._timer = self.pbx.clock.call_later(delay, self._next)

    def _next(self) -> None:
        self._timer = None
        if self.ended or not self._queue or not self.ch.alive:
            return
        text, client_id = self._queue.popleft()
        queued, self._dtmf = self._dtmf, []
        for digit, duration in queued:
            self.pbx.dtmf.play(self.ch, digit, duration)
        internal = self.pbx.ids.agi_command_id()
        self._running_ids = (internal, client_id, text)
        self.pbx.channel_event(self.ch, "AGIExecStart", ("CommandId", internal), ("Command", text))
        name, args = cmds.match(cmds.split_args(text))
        command = _COMMANDS.get(name, Command)(self, name, args)
        self.running = command
        command.start()

    def complete(self, outcome: cmds.Outcome) -> None:
        """The running command finished with ``outcome``."""
        if self.ended:
            return
        self.running = None
        self._report(outcome)
        if outcome.ends or self.hangup_requested:
            self._end(outcome.ends or "HANGUP")
        elif self._queue and self._timer is None:
            self._schedule()

    def _report(self, outcome: cmds.Outcome) -> None:
        internal, client_id, text = self._running_ids
        self.pbx.channel_event(self.ch, "AGIExecEnd", ("CommandId", internal), ("Command", text),
                               ("ResultCode", str(outcome.code)), ("Result", outcome.verdict))
        self.pbx.channel_event(self.ch, "AsyncAGIExec", ("Result", cmds.encode(outcome.line)),
                               ("CommandId", client_id))

    def _end(self, status: str, *, continue_dialplan: bool = True) -> None:
        self.ended = True
        if self._timer is not None:
            self._timer.cancel()
        self.pbx.channel_event(self.ch, "AsyncAGIEnd")
        self.pbx.set_var(self.ch, "AGISTATUS", status)
        if self.ch.activity is self:
            self.ch.activity = None
        if not continue_dialplan:
            return
        if self.hangup_requested:
            self.pbx.hangups.after_agi(self.ch)
        else:
            self._on_end(self.ch)

    # --- Activity ------------------------------------------------------------------------

    def interrupt(self, cause: int) -> None:
        """Hang-up: the running command returns -1, then AGI ends with AGISTATUS=HANGUP."""
        if self.ended:
            return
        running, self.running = self.running, None
        if running is not None:
            self._report(running.abort())
        self._end("HANGUP", continue_dialplan=False)

    def redirected(self) -> None:
        """An async goto (``Redirect``): the running command is cut short, AGI ends."""
        if self.ended:
            return
        running, self.running = self.running, None
        if running is not None:
            self._report(running.abort())
        self._end("SUCCESS", continue_dialplan=False)

    def yank(self) -> None:
        self.ended = True
        if self._timer is not None:
            self._timer.cancel()
        running, self.running = self.running, None
        if running is not None:
            running.yank()

    def wants_dtmf(self) -> bool:
        return self.running is None and not self.ended

    def queue_dtmf(self, digit: str, duration_ms: int) -> None:
        self._dtmf.append((digit, duration_ms))

    def on_digit(self, digit: str) -> None:
        if self.running is not None:
            self.running.on_digit(digit)
