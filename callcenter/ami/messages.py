"""Typed AMI messages: events and responses out of the adapter, actions into it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from callcenter.ami.agi import AgiResult, parse_agi_result
from callcenter.ami.parser import Frame
from callcenter.ami.sanitize import bounded_int, clean_text


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """An event as Asterisk sent it, with typed access to the headers the product reads."""

    frame: Frame
    received_at: float

    @property
    def name(self) -> str:
        return self.frame.fields.get("Event", "")

    def get(self, key: str, default: str = "") -> str:
        return self.frame.fields.get(key, default)

    @property
    def fields(self) -> dict[str, str]:
        return self.frame.fields

    @property
    def channel(self) -> str:
        return self.frame.fields.get("Channel", "")

    @property
    def uniqueid(self) -> str:
        return self.frame.fields.get("Uniqueid", "")

    @property
    def linkedid(self) -> str:
        return self.frame.fields.get("Linkedid", "")

    @property
    def action_id(self) -> str:
        return self.frame.get("ActionID")

    @property
    def command_id(self) -> str:
        """``AsyncAGIExec`` says ``CommandId``; older versions said ``CommandID``."""
        return self.frame.get("CommandId")

    @property
    def cause(self) -> int | None:
        return bounded_int(self.frame.fields.get("Cause", ""), 0, 65_535)

    def agi_result(self) -> AgiResult:
        return parse_agi_result(self.frame.fields.get("Result", ""))


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """The answer to one action; list actions carry their items (``CoreShowChannel``…)."""

    frame: Frame
    items: tuple[AmiEvent, ...] = ()

    @property
    def ok(self) -> bool:
        return self.frame.fields.get("Response", "") in ("Success", "Follows", "Goodbye")

    @property
    def message(self) -> str:
        return self.frame.fields.get("Message", "")

    def get(self, key: str, default: str = "") -> str:
        return self.frame.get(key, default)


# --- actions -----------------------------------------------------------------------------

Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Action:
    """Any action by name and headers; the typed actions below build one of these."""

    name: str
    headers: tuple[tuple[str, str], ...] = ()
    is_list: bool = False

    def render(self, action_id: str) -> bytes:
        lines = [f"Action: {self.name}", f"ActionID: {action_id}"]
        for key, value in self.headers:
            _check_header(key, value)
            lines.append(f"{key}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def header(self, key: str) -> str:
        for name, value in self.headers:
            if name.lower() == key.lower():
                return value
        return ""


def _check_header(key: str, value: str) -> None:
    """A CR or LF inside a header would let one action smuggle another, a NUL would cut it
    short: refuse them."""
    if any(c in key or c in value for c in "\r\n\x00") or not key or ":" in key:
        raise ValueError(f"invalid AMI header {key!r}")


def _headers(pairs: Iterable[tuple[str, str | int | None]]) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(v)) for k, v in pairs if v is not None and v != "")


def login(username: str, secret: str) -> Action:
    return Action("Login", _headers([("Username", username), ("Secret", secret), ("Events", "on")]))


def ping() -> Action:
    return Action("Ping")


def logoff() -> Action:
    return Action("Logoff")


@dataclass(frozen=True, slots=True)
class Originate:
    """Always ``Async: true``: a synchronous Originate blocks the AMI session on Asterisk.

    Either ``application``/``data`` (``Bridge``, ``<caller channel>,p``) or
    ``context``/``exten``/``priority``.
    """

    channel: str
    application: str = ""
    data: str = ""
    context: str = ""
    exten: str = ""
    priority: int | None = None
    timeout_ms: int = 30_000
    caller_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)

    def action(self) -> Action:
        pairs: list[tuple[str, str | int | None]] = [("Channel", self.channel)]
        if self.application:
            pairs += [("Application", self.application), ("Data", self.data)]
        else:
            pairs += [("Context", self.context), ("Exten", self.exten),
                      ("Priority", self.priority if self.priority is not None else 1)]
        # The caller ID shown on the agent's phone comes from the caller: never let a control
        # character in it break the Originate (the offer would fail and the agent be paused).
        pairs += [("CallerID", clean_text(self.caller_id, limit=256)), ("Async", "true"),
                  ("Timeout", self.timeout_ms)]
        pairs += [("Variable", f"{k}={v}") for k, v in self.variables.items()]
        return Action("Originate", _headers(pairs))


def agi(channel: str, command: str, command_id: str) -> Action:
    return Action("AGI", _headers([("Channel", channel), ("Command", command),
                                   ("CommandID", command_id)]))


def hangup(channel: str, cause: int = 16) -> Action:
    return Action("Hangup", _headers([("Channel", channel), ("Cause", cause)]))


def redirect(channel: str, context: str, exten: str, priority: int = 1) -> Action:
    return Action("Redirect", _headers([("Channel", channel), ("Context", context),
                                        ("Exten", exten), ("Priority", priority)]))


def bridge(channel1: str, channel2: str, tone: bool = False) -> Action:
    return Action("Bridge", _headers([("Channel1", channel1), ("Channel2", channel2),
                                      ("Tone", "yes" if tone else "no")]))


def mix_monitor(channel: str, mixed: str, customer: str, agent: str) -> Action:
    """Record mixed plus one file per direction: ``r()`` = read from the caller's channel."""
    return Action("MixMonitor", _headers([("Channel", channel), ("File", mixed),
                                          ("Options", f"r({customer})t({agent})")]))


def stop_mix_monitor(channel: str) -> Action:
    return Action("StopMixMonitor", _headers([("Channel", channel)]))


def mix_monitor_mute(channel: str, muted: bool, direction: str = "both") -> Action:
    return Action("MixMonitorMute", _headers([("Channel", channel), ("Direction", direction),
                                              ("State", 1 if muted else 0)]))


def core_show_channels() -> Action:
    return Action("CoreShowChannels", is_list=True)


def status() -> Action:
    return Action("Status", is_list=True)


def bridge_list() -> Action:
    return Action("BridgeList", is_list=True)
