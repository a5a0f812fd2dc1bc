"""What the simulated PBX holds: channels and bridges (mutable, owned by the engine), the phones
it knows, and the originate requests it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from callcenter.simulator.scenario import Behaviour, CallerScript

DOWN, RING, RINGING, UP = 0, 4, 5, 6
STATE_DESC = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up"}


class Activity(Protocol):
    """What the PBX is running on a channel (AsyncAGI, a Bridge, a handset's dialplan)."""

    name: str

    def interrupt(self, cause: int) -> None:
        """The channel is being hung up: end quietly, emitting what Asterisk emits then."""
        ...

    def yank(self) -> None:
        """The channel is pulled into a bridge by another channel's Bridge()."""
        ...

    def wants_dtmf(self) -> bool:
        """True while digits should wait in the channel's queue (AsyncAGI between commands)."""
        ...

    def queue_dtmf(self, digit: str, duration_ms: int) -> None: ...

    def on_digit(self, digit: str) -> None: ...


class Party(Protocol):
    """A scripted caller or agent on a channel (:class:`~.party.PartyRun`): what the PBX tells it."""

    @property
    def local(self) -> bool:
        """True on a Local half (the party's steps show as dialplan), False behind a PJSIP phone."""
        ...

    @property
    def role(self) -> str:
        """``caller`` or ``agent``."""
        ...

    def start_answered(self) -> None: ...

    def on_answered(self) -> None: ...

    def on_hold(self, holding: bool) -> None: ...

    def on_bridged(self) -> None: ...

    def on_survey(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(eq=False)
class Channel:
    """One Asterisk channel (a PJSIP leg or one half of a Local pair)."""

    name: str
    uniqueid: str
    linkedid: str
    tech: str
    created_at: float
    device: str
    state: int = DOWN
    cid_num: str = ""
    cid_name: str = ""
    conn_num: str = ""
    conn_name: str = ""
    language: str = "en"
    accountcode: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 1
    app: str = ""
    app_data: str = ""
    partner: Channel | None = None
    bridge: Bridge | None = None
    activity: Activity | None = None
    program: Party | None = None  # a scripted party driving this channel
    party: Party | None = None  # the party whose voice and digits come out of this channel
    variables: dict[str, str] = field(default_factory=dict)
    pvt_call_id: str = ""
    hungup: bool = False
    hanging_up: bool = False
    callerid_pending: bool = False
    in_bridge_app: bool = False
    was_bridged: bool = False  # ever in a bridge (how a phone's hang-up is reported depends on it)
    after_bridge: tuple[str, str, int] | None = None
    muted: set[str] = field(default_factory=set)  # MuteAudio directions: "in", "out"

    @property
    def alive(self) -> bool:
        return not self.hungup and not self.hanging_up

    @property
    def is_local(self) -> bool:
        return self.tech == "Local"


@dataclass(eq=False)
class Bridge:
    uniqueid: str
    created_at: float
    members: list[Channel] = field(default_factory=list)
    technology: str = "simple_bridge"
    bridge_type: str = "basic"


@dataclass
class Endpoint:
    """A phone: an agent's PJSIP endpoint or Local handset, or the lab's PJSIP caller phone."""

    name: str
    context: str
    behaviour: Behaviour
    role: str  # agent or caller
    registered: bool = True
    caller: CallerScript | None = None
    port: int = 5060


@dataclass
class OriginateRequest:
    dial: str
    action_id: str | None = None
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    timeout_s: float = 30.0
    cid_num: str = ""
    cid_name: str = ""
    variables: list[tuple[str, str]] = field(default_factory=list)
    language: str = "en"
    channel_id: str = ""  # ChannelId / OtherChannelId: the uniqueids to give the channels
    other_channel_id: str = ""
