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

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


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


# --- loading ---------------------------------------------------------------------------------

_BEHAVIOUR_KEYS = {"answer_after_s", "never_answers", "busy", "presses", "says", "hangup_after_s",
                   "patience_s", "survey", "talk"}


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
    data = _mapping(raw, "scenario", {"name", "callers", "agents"})
    callers = tuple(_caller(item, f"callers[{i}]", base_dir)
                    for i, item in enumerate(_list(data.get("callers", []), "callers")))
    agents = tuple(_agent(item, f"agents[{i}]", base_dir)
                   for i, item in enumerate(_list(data.get("agents", []), "agents")))
    seen: set[str] = set()
    for i, agent in enumerate(agents):
        if agent.dial_string in seen:
            raise ScenarioError(f"agents[{i}].dial: {agent.dial_string} is used twice")
        seen.add(agent.dial_string)
    return Scenario(callers, agents, str(data.get("name", "")))


def _caller(raw: Any, where: str, base: Path) -> CallerScript:
    keys = {"number", "name", "language", "exten", "arrival", "endpoint", "handset"}
    data = _mapping(raw, where, keys | _BEHAVIOUR_KEYS)
    number = _text(data, "number", where, required=True)
    if not number.lstrip("+").isdigit():
        raise ScenarioError(f"{where}.number: must be digits, got {number!r}")
    exten = _text(data, "exten", where) or "4001"
    if not exten[:1].isdigit() or len(exten) < 2:
        raise ScenarioError(f"{where}.exten: must match [inbound] _X. (two or more digits)")
    return CallerScript(number=number, name=_text(data, "name", where),
                        language=_text(data, "language", where) or "en", exten=exten,
                        arrival=_arrival(data.get("arrival"), f"{where}.arrival"),
                        behaviour=_behaviour(data, where, base, answer_default=0.0),
                        endpoint=_text(data, "endpoint", where),
                        handset=_text(data, "handset", where))


def _agent(raw: Any, where: str, base: Path) -> AgentScript:
    keys = {"extension", "dial", "registered", "context", "registration"}
    data = _mapping(raw, where, keys | _BEHAVIOUR_KEYS)
    extension = _text(data, "extension", where, required=True)
    dial = _text(data, "dial", where)
    if dial and not (dial.startswith("PJSIP/") or dial.startswith("Local/")):
        raise ScenarioError(f"{where}.dial: must be PJSIP/<endpoint> or Local/<exten>@<context>[/n]")
    if dial.startswith("Local/") and "@" not in dial:
        raise ScenarioError(f"{where}.dial: a Local dial string needs @<context>")
    changes = tuple(
        RegistrationChange(_number(c, "at_s", f"{where}.registration[{i}]", required=True),
                           _flag(c, "registered", f"{where}.registration[{i}]", True))
        for i, c in enumerate(_list(data.get("registration", []), f"{where}.registration"))
        if _mapping(c, f"{where}.registration[{i}]", {"at_s", "registered"}) is not None)
    return AgentScript(extension=extension, dial=dial,
                       registered=_flag(data, "registered", where, True),
                       context=_text(data, "context", where) or "agents",
                       behaviour=_behaviour(data, where, base, answer_default=1.0),
                       registration=changes)


def _behaviour(data: Mapping[str, Any], where: str, base: Path, answer_default: float) -> Behaviour:
    presses = tuple(_press(p, f"{where}.presses[{i}]")
                    for i, p in enumerate(_list(data.get("presses", []), f"{where}.presses")))
    says = tuple(_speech(s, f"{where}.says[{i}]", base)
                 for i, s in enumerate(_list(data.get("says", []), f"{where}.says")))
    talk = tuple(_speech(s, f"{where}.talk[{i}]", base)
                 for i, s in enumerate(_list(data.get("talk", []), f"{where}.talk")))
    survey = None
    if data.get("survey") is not None:
        raw = _mapping(data["survey"], f"{where}.survey", {"digits", "after_s"})
        survey = Survey(_digits(raw, f"{where}.survey"),
                        _number(raw, "after_s", f"{where}.survey", default=1.0))
    behaviour = Behaviour(
        answer_after_s=_number(data, "answer_after_s", where, default=answer_default),
        never_answers=_flag(data, "never_answers", where, False),
        busy=_flag(data, "busy", where, False), presses=presses, says=says,
        hangup_after_s=_optional(data, "hangup_after_s", where),
        patience_s=_optional(data, "patience_s", where), survey=survey, talk=talk)
    if behaviour.busy and behaviour.never_answers:
        raise ScenarioError(f"{where}.busy: cannot be both busy and never_answers")
    return behaviour


def _press(raw: Any, where: str) -> Press:
    data = _mapping(raw, where, {"after_s", "digits", "duration_ms"})
    duration = _number(data, "duration_ms", where, default=100.0)
    if not 40 <= duration <= 2000:
        raise ScenarioError(f"{where}.duration_ms: must be between 40 and 2000")
    return Press(_number(data, "after_s", where, required=True), _digits(data, where), int(duration))


def _speech(raw: Any, where: str, base: Path) -> Speech:
    data = _mapping(raw, where, {"after_s", "audio"})
    audio = Path(_text(data, "audio", where, required=True))
    audio = audio if audio.is_absolute() else base / audio
    if not audio.is_file():
        raise ScenarioError(f"{where}.audio: file not found: {audio}")
    return Speech(_number(data, "after_s", where, required=True), audio)


def _arrival(raw: Any, where: str) -> Arrival:
    if raw is None:
        return Arrival()
    data = _mapping(raw, where, {"at_s", "rate_per_min", "duration_s", "seed"})
    if "at_s" in data and "rate_per_min" in data:
        raise ScenarioError(f"{where}: give either at_s or rate_per_min, not both")
    if "rate_per_min" in data:
        rate = _number(data, "rate_per_min", where, required=True)
        duration = _number(data, "duration_s", where, required=True)
        if rate <= 0 or duration <= 0:
            raise ScenarioError(f"{where}.rate_per_min: rate and duration_s must be > 0")
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ScenarioError(f"{where}.seed: must be an integer")
        return Arrival(at_s=(), rate_per_min=rate, duration_s=duration, seed=seed)
    times = _list(data.get("at_s", [0.0]), f"{where}.at_s")
    return Arrival(at_s=tuple(_as_number(t, f"{where}.at_s[{i}]") for i, t in enumerate(times)))


# --- field helpers ---------------------------------------------------------------------------

def _mapping(raw: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a mapping")
    for key in raw:
        if key not in allowed:
            raise ScenarioError(f"{where}.{key}: unknown field (allowed: {', '.join(sorted(allowed))})")
    return raw


def _list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ScenarioError(f"{where}: must be a list")
    return raw


def _as_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{where}: must be a number, got {value!r}")
    if value < 0:
        raise ScenarioError(f"{where}: must be >= 0")
    return float(value)


def _number(data: Mapping[str, Any], key: str, where: str, default: float = 0.0,
            required: bool = False) -> float:
    if key not in data:
        if required:
            raise ScenarioError(f"{where}.{key}: missing")
        return default
    return _as_number(data[key], f"{where}.{key}")


def _optional(data: Mapping[str, Any], key: str, where: str) -> float | None:
    return None if data.get(key) is None else _number(data, key, where)


def _text(data: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise ScenarioError(f"{where}.{key}: missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ScenarioError(f"{where}.{key}: must be text")
    text = str(value)
    if any(c in text for c in "\r\n"):
        raise ScenarioError(f"{where}.{key}: must be one line")
    return text


def _flag(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}.{key}: must be true or false")
    return value


def _digits(data: Mapping[str, Any], where: str) -> str:
    digits = _text(data, "digits", where, required=True)
    if not digits or any(c not in "0123456789*#ABCD" for c in digits):
        raise ScenarioError(f"{where}.digits: must be DTMF digits 0-9 * # A-D, got {digits!r}")
    return digits

