"""Simulator settings: a frozen dataclass, normalised and checked in its constructor.

A TOML or YAML file (by suffix) may hold them, either at the top level or under
``[simulator]``; an unknown or bad key raises :class:`ConfigError` naming it.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SOUND_DIRS = (Path("/usr/share/asterisk/sounds"), Path("/var/lib/asterisk/sounds"))


class ConfigError(ValueError):
    """A simulator setting is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class SimulatorConfig:
    """Args:
        host, port: where the AMI server listens (port 0 = any free port).
        username, secret: the one AMI user (``manager.conf``'s ``[callcenter]``).
        sound_dirs: where prompts are looked up (``<dir>/<lang>/<name>.<ext>``).
        time_scale: simulated seconds per real second.
        recording_dir: where MixMonitor files are written.
        caller_channel_style: ``pjsip`` (production-shaped ``PJSIP/<trunk>-XXXXXXXX``) or
            ``local`` (the lab's ``Local/<exten>@inbound/n`` halves).
        trunk: the PJSIP endpoint name of the carrier trunk.
        seed: makes bridge ids and Asterisk's internal ids reproducible.
    """

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "callcenter"
    secret: str = field(default="", repr=False)
    sound_dirs: tuple[Path, ...] = DEFAULT_SOUND_DIRS
    time_scale: float = 1.0
    recording_dir: Path = Path("state/recordings")
    caller_channel_style: str = "pjsip"
    trunk: str = "pstn"
    seed: int | None = None

    def __post_init__(self) -> None:
        _check(bool(self.host), "host", "must not be empty")
        _check(isinstance(self.port, int) and 0 <= self.port < 65536, "port", "must be 0..65535")
        _check(bool(self.username) and ":" not in self.username, "username", "must be a word")
        _check(isinstance(self.time_scale, int | float) and 0 < self.time_scale <= 1000,
               "time_scale", "must be > 0 and <= 1000")
        _check(self.caller_channel_style in ("pjsip", "local"), "caller_channel_style",
               "must be pjsip or local")
        _check(bool(self.trunk) and "/" not in self.trunk, "trunk", "must be an endpoint name")
        object.__setattr__(self, "sound_dirs", tuple(Path(p) for p in self.sound_dirs))
        object.__setattr__(self, "recording_dir", Path(self.recording_dir))
        object.__setattr__(self, "time_scale", float(self.time_scale))


def _check(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise ConfigError(f"simulator.{key}: {problem}")


def load_config(path: str | Path) -> SimulatorConfig:
    """Read settings from TOML (``.toml``) or YAML; relative directories are relative to the file.

    Raises:
        ConfigError: unreadable file, bad syntax, unknown key or bad value (named).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"--config: {path} is not valid: {exc}") from None
    raw = raw or {}
    if isinstance(raw, dict) and isinstance(raw.get("simulator"), dict):
        raw = raw["simulator"]
    if not isinstance(raw, dict):
        raise ConfigError("simulator: must be a table")
    return config_from_mapping(raw, path.parent)


def config_from_mapping(raw: dict[str, Any], base: Path = Path(".")) -> SimulatorConfig:
    known = {f.name: f for f in dataclasses.fields(SimulatorConfig)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"simulator.{key}: unknown setting")
        if key == "sound_dirs":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError("simulator.sound_dirs: must be a list of paths")
            value = tuple(base / v for v in value)
        elif key == "recording_dir":
            if not isinstance(value, str):
                raise ConfigError("simulator.recording_dir: must be a path")
            value = base / value
        elif key in ("port", "seed") and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"simulator.{key}: must be an integer")
        elif key in ("host", "username", "secret", "caller_channel_style", "trunk") \
                and not isinstance(value, str):
            raise ConfigError(f"simulator.{key}: must be text")
        values[key] = value
    return SimulatorConfig(**values)
