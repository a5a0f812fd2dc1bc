"""``EXEC <application> <args>`` for the applications the server runs from AGI."""

from __future__ import annotations

from callcenter.simulator.agi_commands import Outcome, ok
from callcenter.simulator.agi_exec import EXEC_ABORTED, Command


class Exec(Command):
    def start(self) -> None:
        if not self.args:
            self.done(Outcome("200 result=-2\n"))
            return
        app = self.args[0].lower()
        self.data = " ".join(self.args[1:])
        starter = {"musiconhold": self._moh, "playback": self._playback, "wait": self._wait,
                   "answer": self._answer}.get(app)
        if starter is None:
            self.done(Outcome("200 result=-2\n"))  # Asterisk: application not found
            return
        self.moh = False
        starter()

    # MusicOnHold(class[,duration]): until the duration or until something ends it.
    def _moh(self) -> None:
        parts = self.data.split(",")
        moh_class = parts[0] or "default"
        self.moh = True
        self.pbx.channel_event(self.ch, "MusicOnHoldStart", ("Class", moh_class))
        if self.ch.party is not None:
            self.ch.party.on_hold(True)
        duration = _seconds(parts[1]) if len(parts) > 1 else 0.0
        if duration > 0:
            self.later(duration, self._moh_done)

    def _moh_done(self) -> None:
        self._moh_stop()
        self.done(ok("0"))

    def _moh_stop(self) -> None:
        if self.moh:
            self.moh = False
            self.pbx.channel_event(self.ch, "MusicOnHoldStop")
            if self.ch.party is not None:
                self.ch.party.on_hold(False)

    def _playback(self) -> None:
        files = self.data.split(",")[0].split("&")
        at = self.pbx.clock.now()
        status = "SUCCESS"
        for name in files:
            sound = self.find(name)
            if sound is None:
                status = "FAILED"
                break
            self.play(sound, at)
            at += sound.duration_s

        def finish() -> None:
            self.pbx.set_var(self.ch, "PLAYBACKSTATUS", status)
            self.done(ok("0"))

        self.later(at - self.pbx.clock.now(), finish)

    def _wait(self) -> None:
        self.later(_seconds(self.data), lambda: self.done(ok("0")))

    def _answer(self) -> None:
        was_down = self.pbx.answer(self.ch)
        self.later(0.5 if was_down and self.ch.is_local else 0.0, lambda: self.done(ok("0")))

    def abort(self) -> Outcome:
        self.cancel()
        self._moh_stop()
        return EXEC_ABORTED

    def yank(self) -> None:
        self.cancel()
        self._moh_stop()


def _seconds(text: str) -> float:
    try:
        value = float(text.strip() or 0)
    except ValueError:
        return 0.0
    return value if value > 0 and value < 1e7 else 0.0
