"""Scripted callers and agents, loaded from a YAML scenario into frozen dataclasses.

Times are simulated seconds. A caller's times count from the moment the call is answered (the
IVR's ``ANSWER``); an agent's from the moment the agent answers. Audio paths are relative to the
scenario file. Every validation error names the bad field (``callers[0].presses[1].after_s``).

Example (see ``callcenter/simulator/scenarios/example.yaml``)::

    callers:
      - number: "13800000001"
        name: Alice Chen
        arrival: {at_s: [0, 45]}          # or {rate_per_min: 2, duration_s: 600, seed: 7}
        presses: [{after_s: 2, digits: "2"}]
        says: [{after_s: 8, audio: audio/customer.wav}]
        patience_s: 60                    # hangs up after 60 s on hold
        survey: {digits: "5", after_s: 1} # answers the post-call survey
    agents:
      - extension: "1001"                 # dialled as PJSIP/1001 unless ``dial`` says otherwise
        answer_after_s: 1
        says: [{after_s: 0.5, audio: audio/agent.wav}]
        hangup_after_s: 20
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, PlainValidator, ValidationError, ValidationInfo, model_validator

from callcenter.schema.base import Schema, fail, summary
from callcenter.schema.fields import Flag, Integer, Number, at_least, between


class ScenarioError(ValueError):
    """The scenario is invalid; the message names the field."""


@dataclass(frozen=True, slots=True)
class Press:
    after_s: float
    digits: str
    duration_ms: int = 100


@dataclass(frozen=True, slots=True)
class Speech:
    after_s: float
    audio: Path


@dataclass(frozen=True, slots=True)
class Survey:
    digits: str
    after_s: float = 1.0


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What a party does once the call is up (and, for agents, how the phone answers)."""

    answer_after_s: float = 0.0
    never_answers: bool = False
    busy: bool = False
    presses: tuple[Press, ...] = ()
    says: tuple[Speech, ...] = ()
    hangup_after_s: float | None = None
    patience_s: float | None = None
    survey: Survey | None = None
    talk: tuple[Speech, ...] = ()  # a caller's speech, timed from being bridged to an agent


@dataclass(frozen=True, slots=True)
class Arrival:
    """Fixed arrival times, or a Poisson process of ``rate_per_min`` for ``duration_s``."""

    at_s: tuple[float, ...] = (0.0,)
    rate_per_min: float = 0.0
    duration_s: float = 0.0
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class CallerScript:
    """A customer. ``endpoint``: the lab's PJSIP phone name (``pstn``) when the call is
    originated to it; ``handset``: ``exten@context`` of the lab's Local handset script."""

    number: str
    name: str = ""
    language: str = "en"
    exten: str = "4001"
    arrival: Arrival = field(default_factory=Arrival)
    behaviour: Behaviour = field(default_factory=Behaviour)
    endpoint: str = ""
    handset: str = ""


@dataclass(frozen=True, slots=True)
class RegistrationChange:
    at_s: float
    registered: bool


@dataclass(frozen=True, slots=True)
class AgentScript:
    """An agent's phone: ``dial`` is how the server rings it (``PJSIP/1001`` by default, or a
    lab-style ``Local/1001@sim-agent/n``)."""

    extension: str
    dial: str = ""
    registered: bool = True
    context: str = "agents"
    behaviour: Behaviour = field(default_factory=lambda: Behaviour(answer_after_s=1.0))
    registration: tuple[RegistrationChange, ...] = ()

    @property
    def dial_string(self) -> str:
        return self.dial or f"PJSIP/{self.extension}"


@dataclass(frozen=True, slots=True)
class Scenario:
    callers: tuple[CallerScript, ...] = ()
    agents: tuple[AgentScript, ...] = ()
    name: str = ""


# --- the file --------------------------------------------------------------------------------

def _line(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        fail(f"must be text, got {value!r}")
    text = str(value)
    if any(c in text for c in "\r\n"):
        fail("must be one line")
    return text


def _digits(value: Any) -> str:
    digits = _line(value)
    if not digits or any(c not in "0123456789*#ABCD" for c in digits):
        fail(f"must be DTMF digits 0-9 * # A-D, got {digits!r}")
    return digits


def _audio(value: Any, info: ValidationInfo) -> Path:
    audio = Path(_line(value))
    base = (info.context or {}).get("base", Path("."))
    audio = audio if audio.is_absolute() else base / audio
    if not audio.is_file():
        fail(f"file not found: {audio}")
    return audio


Line = Annotated[str, PlainValidator(_line)]
Seconds = Annotated[Number, at_least(0)]


class PressFile(Schema):
    after_s: Seconds
    digits: Annotated[str, PlainValidator(_digits)]
    duration_ms: Annotated[Number, between(40, 2000)] = 100

    def press(self) -> Press:
        return Press(self.after_s, self.digits, int(self.duration_ms))


class SpeechFile(Schema):
    after_s: Seconds
    audio: Annotated[Path, PlainValidator(_audio)]


class SurveyFile(Schema):
    digits: Annotated[str, PlainValidator(_digits)]
    after_s: Seconds = 1.0


class ArrivalFile(Schema):
    """``{at_s: [0, 45]}`` or ``{rate_per_min: 2, duration_s: 600, seed: 7}``."""

    at_s: tuple[Seconds, ...] | None = None
    rate_per_min: Seconds | None = None
    duration_s: Seconds | None = None
    seed: Integer | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ArrivalFile:
        if self.at_s is not None and self.rate_per_min is not None:
            fail("give either at_s or rate_per_min, not both")
        if self.rate_per_min is not None:
            if self.duration_s is None:
                fail("missing", "duration_s")
            if self.rate_per_min <= 0 or self.duration_s <= 0:
                fail("rate and duration_s must be > 0", "rate_per_min")
        return self

    def arrival(self) -> Arrival:
        if self.rate_per_min is not None:
            return Arrival((), self.rate_per_min, self.duration_s or 0.0, self.seed)
        return Arrival(at_s=self.at_s if self.at_s is not None else (0.0,))


class BehaviourFile(Schema):
    """What callers and agents share: timings, key presses, speech, the survey."""

    answer_after_s: Seconds | None = None
    never_answers: Flag = False
    busy: Flag = False
    presses: tuple[PressFile, ...] = ()
    says: tuple[SpeechFile, ...] = ()
    hangup_after_s: Seconds | None = None
    patience_s: Seconds | None = None
    survey: SurveyFile | None = None
    talk: tuple[SpeechFile, ...] = ()

    @model_validator(mode="after")
    def _busy_or_silent(self) -> BehaviourFile:
        if self.busy and self.never_answers:
            fail("cannot be both busy and never_answers", "busy")
        return self

    def behaviour(self, answer_default: float) -> Behaviour:
        survey = Survey(self.survey.digits, self.survey.after_s) if self.survey else None
        return Behaviour(
            answer_after_s=answer_default if self.answer_after_s is None else self.answer_after_s,
            never_answers=self.never_answers, busy=self.busy,
            presses=tuple(p.press() for p in self.presses),
            says=tuple(Speech(s.after_s, s.audio) for s in self.says),
            hangup_after_s=self.hangup_after_s, patience_s=self.patience_s, survey=survey,
            talk=tuple(Speech(s.after_s, s.audio) for s in self.talk))


def _number(value: Any) -> str:
    number = _line(value)
    if not number.lstrip("+").isdigit():
        fail(f"must be digits, got {number!r}")
    return number


def _exten(value: Any) -> str:
    exten = _line(value)
    if not exten[:1].isdigit() or len(exten) < 2:
        fail("must match [inbound] _X. (two or more digits)")
    return exten


def _dial(value: Any) -> str:
    dial = _line(value)
    if dial and not (dial.startswith("PJSIP/") or dial.startswith("Local/")):
        fail("must be PJSIP/<endpoint> or Local/<exten>@<context>[/n]")
    if dial.startswith("Local/") and "@" not in dial:
        fail("a Local dial string needs @<context>")
    return dial


class CallerFile(BehaviourFile):
    number: Annotated[str, PlainValidator(_number)]
    name: Line = ""
    language: Line = "en"
    exten: Annotated[str, PlainValidator(_exten)] = "4001"
    arrival: ArrivalFile = Field(default_factory=ArrivalFile)
    endpoint: Line = ""
    handset: Line = ""

    def script(self) -> CallerScript:
        return CallerScript(self.number, self.name, self.language, self.exten, self.arrival.arrival(),
                            self.behaviour(answer_default=0.0), self.endpoint, self.handset)


class RegistrationFile(Schema):
    at_s: Seconds
    registered: Flag = True


class AgentFile(BehaviourFile):
    extension: Line
    dial: Annotated[str, PlainValidator(_dial)] = ""
    registered: Flag = True
    context: Line = "agents"
    registration: tuple[RegistrationFile, ...] = ()

    def script(self) -> AgentScript:
        changes = tuple(RegistrationChange(r.at_s, r.registered) for r in self.registration)
        return AgentScript(self.extension, self.dial, self.registered, self.context,
                           self.behaviour(answer_default=1.0), changes)


class ScenarioFile(Schema):
    name: Line = ""
    callers: tuple[CallerFile, ...] = ()
    agents: tuple[AgentFile, ...] = ()


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a YAML scenario.

    Raises:
        ScenarioError: unreadable file, bad YAML, or a bad field (named in the message).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    return parse_scenario(raw if raw is not None else {}, path.parent)


def parse_scenario(raw: Any, base_dir: Path) -> Scenario:
    """A scenario from parsed YAML; audio paths are relative to ``base_dir``.

    Raises:
        ScenarioError: the first bad field, named (``callers[0].presses[1].after_s: …``).
    """
    try:
        data = ScenarioFile.model_validate(raw, context={"base": base_dir})
    except ValidationError as exc:
        raise ScenarioError(summary(exc, ScenarioFile, "scenario")) from None
    agents = tuple(agent.script() for agent in data.agents)
    seen: set[str] = set()
    for i, agent in enumerate(agents):
        if agent.dial_string in seen:
            raise ScenarioError(f"agents[{i}].dial: {agent.dial_string} is used twice")
        seen.add(agent.dial_string)
    return Scenario(tuple(caller.script() for caller in data.callers), agents, data.name)
