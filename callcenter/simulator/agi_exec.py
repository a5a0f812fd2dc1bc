"""The AGI commands the server uses, each timed on the simulated clock.

Prompts play for their real length (read from the sound file); a prompt that is not in the
configured sound folders fails the way Asterisk's does (``STREAM FILE``: ``result=-1
endpos=0`` and the AGI ends; ``GET DATA`` skips it and just collects digits).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Protocol

import callcenter.simulator.agi_commands as cmds
from callcenter.simulator.agi_commands import Outcome, ok
from callcenter.simulator.audio import Segment
from callcenter.simulator.clock import Timer
from callcenter.simulator.model import Channel
from callcenter.simulator.ports import Pbx
from callcenter.simulator.sounds import RATE, Sound, SoundError, find_prompt, load_pcm

HANGUP_RESULT = Outcome("200 result=-1\n")
EXEC_ABORTED = Outcome("200 result=-1\n", 200, "Unknown Result")
_DIGIT_PROMPTS = {"*": "digits/star", "#": "digits/pound"}


class Session(Protocol):
    """The AsyncAGI run a command belongs to (:class:`~.agi.AgiSession`)."""

    pbx: Pbx
    ch: Channel
    hangup_requested: bool

    def complete(self, outcome: Outcome) -> None:
        """The running command ended with ``outcome``: report it, run the next one."""
        ...


class Command:
    """One running AGI command. ``done`` reports its outcome to the session."""

    def __init__(self, session: Session, name: str, args: list[str]) -> None:
        self.session = session
        self.pbx = session.pbx
        self.ch = session.ch
        self.name = name
        self.args = args
        self._timers: list[Timer] = []
        self._segments: list[Segment] = []
        self._finished = False

    def start(self) -> None:
        self.done(cmds.INVALID)

    def on_digit(self, digit: str) -> None:
        """A digit the caller pressed while this command runs (ignored by default)."""

    def abort(self) -> Outcome:
        self.cancel()
        return HANGUP_RESULT

    def yank(self) -> None:
        self.cancel()

    # --- helpers -------------------------------------------------------------------------

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(self.pbx.clock.call_later(delay, callback))

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        now = self.pbx.clock.now()
        for segment in self._segments:
            segment.cut(now)

    def done(self, outcome: Outcome) -> None:
        if self._finished:
            return
        self._finished = True
        self.cancel()
        self.session.complete(outcome)

    def find(self, name: str) -> Sound | None:
        return find_prompt(name, self.ch.language, self.pbx.config.sound_dirs)

    def play(self, sound: Sound, at: float | None = None) -> Segment:
        """Play a prompt to the channel (it goes into the channel's recordings)."""
        try:
            samples = load_pcm(sound.path)
        except SoundError:
            samples = array("h", bytes(2 * sound.samples_8k))
        start = self.pbx.clock.now() if at is None else at
        segment = self.pbx.audio.prompt(self.ch.name, start, samples)
        self._segments.append(segment)
        return segment

    def played_samples(self, started: float) -> int:
        return round((self.pbx.clock.now() - started) * RATE)


class Answer(Command):
    def start(self) -> None:
        was_down = self.pbx.answer(self.ch)
        # Asterisk waits half a second for media after answering a Local channel.
        self.later(0.5 if was_down and self.ch.is_local else 0.0, lambda: self.done(ok("0")))


class StreamFile(Command):
    def start(self) -> None:
        if len(self.args) < 2:
            self.done(cmds.usage("STREAM FILE", "<filename> <escape digits> [sample offset]"))
            return
        sound = self.find(self.args[0])
        if sound is None:
            self.done(cmds.failed("200 result=-1 endpos=0\n"))
            return
        self.escape = self.args[1]
        self.started = self.pbx.clock.now()
        self.play(sound)
        self.later(sound.duration_s, lambda: self._finish("0", sound.samples_8k))

    def _finish(self, result: str, endpos: int) -> None:
        self.pbx.set_var(self.ch, "PLAYBACKSTATUS", "SUCCESS")
        self.done(ok(result, f" endpos={endpos}"))

    def on_digit(self, digit: str) -> None:
        if digit in self.escape:
            self._finish(str(ord(digit)), self.played_samples(self.started))

    def abort(self) -> Outcome:
        endpos = self.played_samples(self.started) if hasattr(self, "started") else 0
        self.cancel()
        return Outcome(f"200 result=-1 endpos={endpos}\n", -1, "Failure")


class GetData(Command):
    def start(self) -> None:
        if not self.args:
            self.done(cmds.usage("GET DATA", "<file to be streamed> [timeout] [max digits]"))
            return
        timeout = cmds.int_arg(self.args, 1, 0)
        maximum = cmds.int_arg(self.args, 2, 1024)
        if timeout is None or maximum is None:
            self.done(cmds.usage("GET DATA", "<file to be streamed> [timeout] [max digits]"))
            return
        self.timeout = (timeout if timeout > 0 else 5000) / 1000
        self.maximum = max(1, maximum)
        self.digits = ""
        self._prompt_timer: Timer | None = None
        sound = self.find(self.args[0])
        if sound is None:
            self._wait()
            return
        self.play(sound)
        self._prompt_timer = self.pbx.clock.call_later(sound.duration_s, self._wait)
        self._timers.append(self._prompt_timer)

    def _wait(self) -> None:
        self._prompt_timer = None
        self.later(self.timeout, self._timed_out)

    def _timed_out(self) -> None:
        self.done(Outcome(f"200 result={self.digits} (timeout)\n"))

    def on_digit(self, digit: str) -> None:
        self.cancel()
        if digit == "#":
            self.done(ok(self.digits))
            return
        self.digits += digit
        if len(self.digits) >= self.maximum:
            self.done(ok(self.digits))
        else:
            self.later(self.timeout, self._timed_out)


class WaitForDigit(Command):
    def start(self) -> None:
        timeout = cmds.int_arg(self.args, 0, -1)
        if timeout is None:
            self.done(cmds.usage("WAIT FOR DIGIT", "<timeout>"))
        elif timeout >= 0:
            self.later(timeout / 1000, lambda: self.done(ok("0")))

    def on_digit(self, digit: str) -> None:
        self.done(ok(str(ord(digit))))


class SayDigits(Command):
    def start(self) -> None:
        if len(self.args) < 2 or not self.args[0]:
            self.done(cmds.usage("SAY DIGITS", "<number> <escape digits>"))
            return
        self.escape = self.args[1]
        at = self.pbx.clock.now()
        for char in self.args[0]:
            sound = self.find(_DIGIT_PROMPTS.get(char, f"digits/{char}"))
            if sound is None:
                self.done(Outcome("200 result=-1\n", -1, "Failure", "FAILURE"))
                return
            self.play(sound, at)
            at += sound.duration_s
        self.later(at - self.pbx.clock.now(), lambda: self.done(ok("0")))

    def on_digit(self, digit: str) -> None:
        if digit in self.escape:
            self.done(ok(str(ord(digit))))


class Hangup(Command):
    def start(self) -> None:
        target = self.args[0] if self.args else self.ch.name
        if target != self.ch.name:
            other = self.pbx.find(target)
            if other is None:
                self.done(ok("-1"))
                return
            self.pbx.hangups.hangup_action(other, 16)
            self.done(ok("1"))
            return
        # AST_SOFTHANGUP_EXPLICIT: Asterisk reports the flag (32) as the "cause".
        self.pbx.channel_event(self.ch, "SoftHangupRequest", ("Cause", "32"))
        self.session.hangup_requested = True
        self.done(ok("1"))


class AsyncAgiBreak(Command):
    def start(self) -> None:
        self.done(Outcome("200 result=0\n", ends="SUCCESS"))


class Simple(Command):
    """NOOP, VERBOSE, SET VARIABLE, GET VARIABLE."""

    def start(self) -> None:
        if self.name == "SET VARIABLE":
            if len(self.args) < 2:
                self.done(cmds.usage("SET VARIABLE", "<variablename> <value>"))
                return
            self.pbx.set_var(self.ch, self.args[0], self.args[1])
            self.done(ok("1"))
        elif self.name == "GET VARIABLE":
            value = self.ch.variables.get(self.args[0]) if self.args else None
            self.done(ok("0") if value is None else Outcome(f"200 result=1 ({value})\n"))
        else:
            self.done(ok("1" if self.name == "VERBOSE" else "0"))

