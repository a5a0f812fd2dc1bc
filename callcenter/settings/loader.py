"""Reads the settings: one TOML file plus ``CALLCENTER_<SECTION>_<KEY>`` environment overrides.

Values are converted to the types the section dataclasses declare; a key that is unknown, of the
wrong type or out of range raises :class:`~callcenter.settings.SettingsError` naming it.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import callcenter.settings as sections
from callcenter.settings import AmiSettings, Secret, Settings, SettingsError

T = TypeVar("T")

ENV_PREFIX = "CALLCENTER_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load settings from a TOML file (optional) and the environment.

    Args:
        path: the TOML file given with ``--config``; ``None`` uses defaults plus environment.
        env: the environment to read overrides from (``os.environ`` when ``None``).

    Raises:
        SettingsError: a key is unknown, missing, of the wrong type or out of range.
    """
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"--config: file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"--config: {path} is not valid TOML: {exc}") from None
    _apply_env(raw, env)
    return _build(Settings, raw, "")


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """Apply ``CALLCENTER_<SECTION>_<KEY>`` and ``CALLCENTER_<TOP_LEVEL_KEY>`` overrides.

    A name in a settings section must be a known key (a misspelt key stops start-up); a name
    whose first word is no settings section is another tool's variable and is ignored, unless it
    looks like a misspelt section (``CALLCENTER_AMII_PORT``).
    """
    if env.get("DATABASE_URL"):
        raw.setdefault("database", {})["url"] = env["DATABASE_URL"]
    hints = _resolved_hints(Settings)
    section_names = {name for name, tp in hints.items() if dataclasses.is_dataclass(tp)}
    top_level = {f.name for f in dataclasses.fields(Settings)} - section_names
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        section, _, key = rest.partition("_")
        if section in section_names and key:
            _set_in_section(raw, name, section, key, value, hints[section])
        elif rest in top_level:
            raw[rest] = value
        else:
            near = (difflib.get_close_matches(section, sorted(section_names), n=1, cutoff=0.75)
                    or difflib.get_close_matches(rest, sorted(top_level), n=1, cutoff=0.75))
            if near:
                raise SettingsError(f"{name}: unknown setting (did you mean a {near[0]} setting?)")
            # not a setting: other tools' keys (CALLCENTER_TEST_DATABASE_URL, ...) are left alone


def _set_in_section(raw: dict[str, Any], name: str, section: str, key: str, value: str,
                    cls: type) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    if key not in known and not (section == "ami" and key == "secret_file"):
        raise SettingsError(f"{name}: unknown setting ({section}.{key})")
    target = raw.setdefault(section, {})
    if not isinstance(target, dict):
        raise SettingsError(f"{section}: must be a table")
    target[key] = value


def _read_secret_file(path: str, key: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{key}: cannot read {path}: {exc.strerror}") from None


_HINTS: dict[type, dict[str, Any]] = {}


def _resolved_hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, globalns=vars(sections))
    return _HINTS[cls]


def _build(cls: type[T], raw: Any, prefix: str) -> T:
    where = prefix.rstrip(".") or "settings"
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: must be a table")
    hints = _resolved_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if cls is AmiSettings and "secret_file" in raw:
        raw = dict(raw)
        raw["secret"] = _read_secret_file(str(raw.pop("secret_file")), "ami.secret_file")
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise SettingsError(f"{prefix}{unknown[0]}: unknown setting")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _convert(hints[name], value, f"{prefix}{name}")
    return cls(**values)


def _convert(tp: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _build(tp, value, f"{key}.")
    convert = _CONVERTERS.get(typing.get_origin(tp) or tp)
    if convert is None:
        raise SettingsError(f"{key}: unsupported setting type {tp!r}")
    return convert(value, key)


def _secret(value: Any, key: str) -> Secret:
    if not isinstance(value, str):
        raise SettingsError(f"{key}: must be a string")
    return Secret(value)


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise SettingsError(f"{key}: must be true or false, got {value!r}")


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise SettingsError(f"{key}: must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{key}: must be an integer, got {value!r}") from None


def _float(value: Any, key: str) -> float:
    if isinstance(value, bool):
        raise SettingsError(f"{key}: must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{key}: must be a number, got {value!r}") from None


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{key}: must be a string, got {value!r}")
    return value


def _path(value: Any, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{key}: must be a non-empty path")
    return Path(value)


def _string_table(value: Any, key: str) -> dict[str, str]:
    """A TOML table of strings, or (from the environment) ``"a=x,b=y"``."""
    if isinstance(value, str):
        table: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, text = item.partition("=")
            if not sep or not name.strip():
                raise SettingsError(f"{key}: expected name=value pairs separated by commas, got {item!r}")
            table[name.strip()] = text.strip()
        value = table
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise SettingsError(f"{key}: must be a table of strings")
    return {str(k): str(v) for k, v in value.items()}


def _string_set(value: Any, key: str) -> frozenset[str]:
    """A TOML list of strings, or (from the environment) ``"a,b"``."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(f"{key}: must be a list of non-empty strings")
    return frozenset(value)


_CONVERTERS: dict[Any, Callable[[Any, str], Any]] = {
    Secret: _secret, bool: _bool, int: _int, float: _float, str: _str, Path: _path,
    dict: _string_table, frozenset: _string_set,
}
