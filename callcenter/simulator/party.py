"""Scripted parties: what a caller's or an agent's phone does, on the simulated clock.

A behaviour compiles to a list of steps like a lab handset's dialplan (``Answer``, ``Wait``,
``SendDTMF``, ``Playback``, ``Hangup``). On a Local half (the lab's ``[sim-caller]`` /
``[sim-agent]`` handsets) each step is reported as ``Newexten``; behind a PJSIP channel (a real
phone) nothing is reported but what the phone causes: DTMF, speech, a hang-up.
Event-driven behaviour rides on top: patience on hold, the survey answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from callcenter.simulator.audio import Segment
from callcenter.simulator.clock import Timer
from callcenter.simulator.model import UP, Channel
from callcenter.simulator.scenario import Behaviour, Press, Speech
from callcenter.simulator.sounds import RATE, SoundError, load_pcm

if TYPE_CHECKING:
    from callcenter.simulator.ports import Pbx

log = logging.getLogger("callcenter.simulator")

LOCAL_DIGIT_S = 0.45  # SendDTMF(d,250) on a Local half takes about this long per digit
LOCAL_DIGIT_DELAY_S = 0.1  # and the digit reaches the other half this much later


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # answer, wait, dtmf, play, hangup, ringing, busy
    duration: float = 0.0
    press: Press | None = None
    speech: Speech | None = None


def dtmf_time(press: Press, local: bool) -> float:
    per_digit = LOCAL_DIGIT_S if local else press.duration_ms / 1000 + 0.1
    return per_digit * len(press.digits)


def compile_timeline(behaviour: Behaviour, local: bool, length_of: Callable[[Path], float],
                     cursor: float = 0.0) -> list[Step]:
    """Steps after answer: presses, speech and the hang-up in time order, with waits between.

    ``cursor`` is where the party's time stands when the timeline starts (a Local handset's
    ``Answer()`` takes half a second). An action due while the previous one still runs starts
    right after it.
    """
    items: list[tuple[float, int, Step]] = []
    for press in behaviour.presses:
        items.append((press.after_s, 0, Step("dtmf", dtmf_time(press, local), press=press)))
    for speech in behaviour.says:
        items.append((speech.after_s, 1, Step("play", length_of(speech.audio), speech=speech)))
    if behaviour.hangup_after_s is not None:
        items.append((behaviour.hangup_after_s, 2, Step("hangup")))
    steps: list[Step] = []
    for at, _, step in sorted(items, key=lambda item: (item[0], item[1])):
        if at > cursor + 0.0005:
            steps.append(Step("wait", round(at - cursor, 4)))
            cursor = at
        steps.append(step)
        cursor += step.duration
    return steps


def before_answer(behaviour: Behaviour) -> list[Step]:
    """An agent handset's steps until it answers (the lab's ``_1XXX``/``_2XXX`` handsets)."""
    if behaviour.busy:
        return [Step("busy")]
    if behaviour.never_answers:
        return [Step("ringing"), Step("wait", 3600.0)]
    steps = [Step("wait", behaviour.answer_after_s)] if behaviour.answer_after_s > 0 else []
    return [*steps, Step("answer")]


def fmt(seconds: float) -> str:
    return f"{round(seconds, 3):g}"


class PartyRun:
    """One party on one call.

    Args:
        host: the channel its steps run on (a Local half, or the PJSIP channel itself).
        facing: the channel its voice and digits come out of (the other Local half, or the
            PJSIP channel).
        role: ``caller`` or ``agent``.
    """

    def __init__(self, pbx: Pbx, behaviour: Behaviour, role: str, host: Channel,
                 facing: Channel) -> None:
        self.pbx = pbx
        self.behaviour = behaviour
        self.role = role
        self.host = host
        self.facing = facing
        self.local = host is not facing
        self.priority = 1
        self.steps: list[Step] = []
        self.index = 0
        self.stopped = False
        self._talked = False
        self.started = False
        self._timer: Timer | None = None
        self._patience: Timer | None = None
        self._held = False  # the caller's wait on hold has begun
        self._segment: Segment | None = None
        host.program = self
        facing.party = self
        if role == "caller" and behaviour.patience_s is not None and facing.state != UP:
            self._patience = pbx.clock.call_later(behaviour.patience_s, self._lose_patience)

    # --- starting ------------------------------------------------------------------------

    def start_ringing_side(self) -> None:
        """An agent's phone is rung: ring, answer later, or stay busy (Local: as dialplan)."""
        if self.local:
            self._run_steps(before_answer(self.behaviour))
            return
        if self.behaviour.never_answers or self.behaviour.answer_after_s > 0:
            self.pbx.ringing(self.host)
        if not self.behaviour.never_answers:
            self._timer = self.pbx.clock.call_later(self.behaviour.answer_after_s, self._answer)

    def _answer(self) -> None:
        self.pbx.answer(self.host)

    def start_answered(self) -> None:
        """A Local caller handset whose half was just answered: ``Answer()`` then the script."""
        self._run_steps([Step("answer")])

    def on_answered(self) -> None:
        """The facing channel was answered (PJSIP phones start their script here)."""
        self._cancel_patience()
        if not self.local and not self.started:
            self.started = True
            self._run_steps(compile_timeline(self.behaviour, False, _length))

    # --- events from the PBX -------------------------------------------------------------

    def on_hold(self, holding: bool) -> None:
        """Patience counts the whole wait from the first hold music: the music stopping and
        starting again (the server holds in stretches, with a callback offer in between)
        does not start it over."""
        if holding and self.role == "caller" and self.behaviour.patience_s is not None \
                and self._patience is None and not self._held:
            self._held = True
            self._patience = self.pbx.clock.call_later(self.behaviour.patience_s,
                                                       self._lose_patience)

    def on_bridged(self) -> None:
        self._cancel_patience()
        if self.role == "caller" and not self._talked:
            self._talked = True
            for speech in self.behaviour.talk:
                self.pbx.clock.call_later(speech.after_s, self._talker(speech))

    def _talker(self, speech: Speech) -> Callable[[], None]:
        def talk() -> None:
            if self.stopped or not self.host.alive:
                return
            try:
                samples = load_pcm(speech.audio)
            except SoundError as exc:
                log.warning("party audio unreadable: %s", exc)
                return
            self.pbx.audio.speech(self.facing.name, self.pbx.clock.now(), samples)

        return talk

    def on_survey(self) -> None:
        survey = self.behaviour.survey
        if survey is not None and self.role == "caller":
            press = Press(0.0, survey.digits)
            self.pbx.clock.call_later(survey.after_s, lambda: self._press(press, report=True))

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self._cancel_patience()
        if self._timer is not None:
            self._timer.cancel()
        if self._segment is not None:
            self._segment.cut(self.pbx.clock.now())

    # --- running steps -------------------------------------------------------------------

    def _run_steps(self, steps: list[Step]) -> None:
        self.steps, self.index = steps, 0
        self._next()

    def _next(self) -> None:
        self._timer = None
        if self.stopped or self.index >= len(self.steps) or self.host.hungup:
            return
        step = self.steps[self.index]
        self.index += 1
        getattr(self, f"_do_{step.kind}")(step)

    def _after(self, seconds: float) -> None:
        self._timer = self.pbx.clock.call_later(seconds, self._next)

    def _app(self, app: str, data: str) -> None:
        if self.local:
            self.pbx.newexten(self.host, app, data, self.priority)
            self.priority += 1

    def _do_wait(self, step: Step) -> None:
        self._app("Wait", fmt(step.duration))
        self._after(step.duration)

    def _do_answer(self, step: Step) -> None:
        self._app("Answer", "")
        was_down = self.pbx.answer(self.host)
        cursor = 0.5 if was_down and self.local else 0.0
        self.started = True
        self.steps = self.steps[: self.index] + compile_timeline(self.behaviour, self.local,
                                                                 _length, cursor)
        self._after(cursor)

    def _do_ringing(self, step: Step) -> None:
        self._app("Ringing", "")
        self.pbx.ringing(self.host)
        self._next()

    def _do_busy(self, step: Step) -> None:
        self._app("Busy", "")
        self.pbx.dialer.busy(self.host)

    def _do_dtmf(self, step: Step) -> None:
        assert step.press is not None
        self._press(step.press, report=True)
        self._after(step.duration)

    def _press(self, press: Press, report: bool) -> None:
        if self.stopped or not self.facing.alive:
            return
        if report:
            self._app("SendDTMF", f"{press.digits},250" if self.local else press.digits)
        gap = LOCAL_DIGIT_S if self.local else press.duration_ms / 1000 + 0.1
        first = LOCAL_DIGIT_DELAY_S if self.local else 0.0
        for i, digit in enumerate(press.digits):
            self.pbx.clock.call_later(first + i * gap, self._sender(digit, press.duration_ms))

    def _sender(self, digit: str, duration_ms: int) -> Callable[[], None]:
        def send() -> None:
            if not self.stopped:
                self.pbx.dtmf.receive(self.facing, digit, duration_ms)

        return send

    def _do_play(self, step: Step) -> None:
        assert step.speech is not None
        audio = step.speech.audio
        self._app("Playback", str(audio.with_suffix("")))
        try:
            samples = load_pcm(audio)
        except SoundError as exc:
            log.warning("party audio unreadable: %s", exc)
            self._next()
            return
        self._segment = self.pbx.audio.speech(self.facing.name, self.pbx.clock.now(), samples)

        def finished() -> None:
            if self.local and self.host.alive:
                self.pbx.set_var(self.host, "PLAYBACKSTATUS", "SUCCESS")
            self._next()

        self._timer = self.pbx.clock.call_later(len(samples) / RATE, finished)

    def _do_hangup(self, step: Step) -> None:
        self._hang_up()

    def _hang_up(self) -> None:
        if self.stopped or not self.host.alive:
            return
        if self._timer is not None:
            self._timer.cancel()
        if self.local:
            self.pbx.hangups.hangup_app(self.host, self.priority)
        else:
            self.pbx.hangups.remote_hangup(self.host)

    def _lose_patience(self) -> None:
        self._patience = None
        self._hang_up()

    def _cancel_patience(self) -> None:
        if self._patience is not None:
            self._patience.cancel()
            self._patience = None


def _length(path: Path) -> float:
    try:
        return len(load_pcm(path)) / RATE
    except SoundError:
        return 0.0
