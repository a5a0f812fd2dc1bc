"""``[live]``: live speech during the call (transcript, agent assist, supervisor alerts)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LiveSettings:
    """``enabled``: spy on each bridged call's two legs and stream them to this server.
    ``listen_host``/``listen_port``: the AudioSocket server (0: a free port); ``advertise_host``:
    the address Asterisk connects to (empty: ``listen_host``). Alerts: ``prohibited_words``
    (said by anyone; matched as whole words, case-insensitive), customer sentiment negative in
    ``negative_count`` of the last ``negative_window`` customer utterances, ``silence_s`` with
    nobody speaking, ``overtalk_s`` of both speaking at once, the call past its skill's
    ``handling_target_s`` (``default_handling_s`` when the skill has none)."""

    enabled: bool = True
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    advertise_host: str = ""
    max_streams: int = 64
    beam_size: int = 1
    lease_s: float = 10.0
    prohibited_words: frozenset[str] = field(default_factory=frozenset)
    negative_window: int = 4
    negative_count: int = 3
    silence_s: float = 30.0
    overtalk_s: float = 3.0
    default_handling_s: float = 600.0
    handling_target_s: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(0 <= self.listen_port <= 65535, "live.listen_port", "must be between 0 and 65535")
        _check(1 <= self.max_streams <= 4096, "live.max_streams", "must be between 1 and 4096")
        _check(1 <= self.beam_size <= 10, "live.beam_size", "must be between 1 and 10")
        _check(self.lease_s >= 2, "live.lease_s", "must be >= 2")
        _check(1 <= self.negative_count <= self.negative_window <= 50, "live.negative_count",
               "must be between 1 and live.negative_window (at most 50)")
        _check(self.silence_s > 0, "live.silence_s", "must be > 0")
        _check(self.overtalk_s > 0, "live.overtalk_s", "must be > 0")
        _check(self.default_handling_s > 0, "live.default_handling_s", "must be > 0")
        for skill, value in self.handling_target_s.items():
            _check(value.replace(".", "", 1).isdigit(), f"live.handling_target_s.{skill}", "must be seconds")

    def target_for(self, skill: str) -> float:
        value = self.handling_target_s.get(skill)
        return float(value) if value else self.default_handling_s


def _check(ok: bool, key: str, problem: str) -> None:
    if not ok:
        from callcenter.settings import SettingsError

        raise SettingsError(f"{key}: {problem}")
