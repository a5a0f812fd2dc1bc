"""Simulator settings: a frozen dataclass, normalised and checked in its constructor.

A TOML or YAML file (by suffix) may hold them, either at the top level or under
``[simulator]``; an unknown or bad key raises :class:`ConfigError` naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from callcenter.schema.base import Schema, located
from callcenter.schema.fields import Integer, Number, Text

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


class SettingsFile(Schema):
    """What a settings file may set; unset keys keep :class:`SimulatorConfig`'s defaults."""

    host: Text | None = None
    port: Integer | None = None
    username: Text | None = None
    secret: Text | None = None
    sound_dirs: tuple[Text, ...] | None = None
    time_scale: Number | None = None
    recording_dir: Text | None = None
    caller_channel_style: Text | None = None
    trunk: Text | None = None
    seed: Integer | None = None


def config_from_mapping(raw: dict[str, Any], base: Path = Path(".")) -> SimulatorConfig:
    """Settings from a mapping; relative directories are relative to ``base``.

    Raises:
        ConfigError: an unknown key or a bad value, named (``simulator.port: must be an integer``).
    """
    try:
        given = SettingsFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("; ".join(f"simulator.{p}" for p in located(exc, SettingsFile))) from None
    values: dict[str, Any] = {key: getattr(given, key) for key in given.model_fields_set}
    if given.sound_dirs is not None:
        values["sound_dirs"] = tuple(base / d for d in given.sound_dirs)
    if given.recording_dir is not None:
        values["recording_dir"] = base / given.recording_dir
    return SimulatorConfig(**values)
