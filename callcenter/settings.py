"""Settings: one TOML file plus ``CALLCENTER_<SECTION>_<KEY>`` environment overrides.

Everything is loaded into frozen dataclasses at start-up. A missing or invalid key raises
:class:`SettingsError` naming the key (``ami.port``); values of secret keys never appear in an
error or a log line, and :class:`Secret` hides itself from ``repr``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ENV_PREFIX = "CALLCENTER_"


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the key, never a secret's value."""


class Secret:
    """A string that never shows itself in ``repr``/``str``; call :meth:`reveal` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "callcenter"
    secret: Secret = field(default_factory=lambda: Secret(""))
    ping_interval_s: float = 10.0
    ping_timeout_s: float = 5.0
    action_timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    max_frame_bytes: int = 1_048_576
    # AMI over TLS (Asterisk's manager.conf ``tlsenable``, port 5039 by default) for a PBX on
    # another host: the certificate is verified against ``tls_ca_file`` (empty: the system's
    # CAs) and ``tls_server_name`` (empty: ``host``).
    tls: bool = False
    tls_ca_file: str = ""
    tls_server_name: str = ""
    tls_verify: bool = True

    def __post_init__(self) -> None:
        _check(0 < self.port < 65536, "ami.port", "must be between 1 and 65535")
        _check(not self.tls_ca_file or Path(self.tls_ca_file).is_file(), "ami.tls_ca_file",
               "must be a readable PEM file")
        _check(bool(self.host), "ami.host", "must not be empty")
        _check(bool(self.username), "ami.username", "must not be empty")
        for name in ("ping_interval_s", "ping_timeout_s", "action_timeout_s", "connect_timeout_s",
                     "reconnect_min_s", "reconnect_max_s"):
            _check(getattr(self, name) > 0, f"ami.{name}", "must be > 0")
        _check(self.reconnect_max_s >= self.reconnect_min_s, "ami.reconnect_max_s",
               "must be >= ami.reconnect_min_s")
        _check(self.max_frame_bytes >= 4096, "ami.max_frame_bytes", "must be >= 4096")


@dataclass(frozen=True)
class DatabaseSettings:
    """``url`` empty means: run the embedded PostgreSQL in ``<state_dir>/pgdata``.

    ``url`` is the schema owner's: migrations run with it. The server itself runs as a
    restricted role (``run_as_app_role``): ``app_url`` when given, else a role the owner
    provisions (``app_role``, default ``<database>_app``); see :mod:`callcenter.store.roles`."""

    url: Secret = field(default_factory=lambda: Secret(""))
    app_url: Secret = field(default_factory=lambda: Secret(""))
    app_role: str = ""
    run_as_app_role: bool = True
    pool_min: int = 1
    pool_max: int = 10
    command_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        url = self.url.reveal()
        _check(not url or url.startswith(("postgres://", "postgresql://")), "database.url",
               "must start with postgresql:// (or be empty for the embedded server)")
        app_url = self.app_url.reveal()
        _check(not app_url or app_url.startswith(("postgres://", "postgresql://")),
               "database.app_url", "must start with postgresql:// (or be empty)")
        _check(1 <= self.pool_min <= self.pool_max, "database.pool_min",
               "must be >= 1 and <= database.pool_max")


@dataclass(frozen=True)
class HttpSettings:
    """``trust_proxy``: believe ``X-Forwarded-Proto`` from a TLS-terminating reverse proxy (the
    session cookie is then marked Secure); leave false when clients reach the server directly."""

    host: str = "127.0.0.1"
    port: int = 8080
    trust_proxy: bool = False

    def __post_init__(self) -> None:
        _check(0 <= self.port < 65536, "http.port", "must be between 0 and 65535")


@dataclass(frozen=True)
class RecordingSettings:
    """``monitor_dir`` is where Asterisk writes MixMonitor files; ``local_dir`` is the same
    directory as this server sees it (a shared mount), empty when it is the same path."""

    enabled: bool = True
    monitor_dir: str = "/var/spool/asterisk/monitor"
    local_dir: str = ""
    grace_s: float = 30.0

    def __post_init__(self) -> None:
        _check(self.monitor_dir.startswith("/"), "recording.monitor_dir", "must be an absolute path")
        _check(not self.local_dir or self.local_dir.startswith("/"), "recording.local_dir",
               "must be an absolute path (or empty)")
        _check(self.grace_s >= 0, "recording.grace_s", "must be >= 0")


@dataclass(frozen=True)
class IvrSettings:
    """``post_call_survey``: when the agent hangs up first, the caller goes to ``[survey]``."""

    post_call_survey: bool = True


@dataclass(frozen=True)
class AsrSettings:
    """Speech-to-text workers. ``languages`` names each language's engine and model as
    ``"engine:model"`` (merged over the defaults: English ``whisper:tiny.en``, Mandarin
    ``whisper:base``; ``""`` switches a language off): ``whisper:<built-in name or absolute
    directory>`` or ``vosk:<absolute directory>``. A call is transcribed in its IVR/profile
    language, or ``default_language`` when that has no engine. ``threads``: decodes at once per
    worker process (each with one torch thread); run more worker processes for more cores."""

    languages: dict[str, str] = field(default_factory=dict)
    default_language: str = "en"
    # Whisper's beam search width (1 = greedy: about twice as fast, more misheard words)
    beam_size: int = 5
    threads: int = 1
    max_attempts: int = 3
    retry_base_s: float = 5.0
    redact_cards: bool = True
    redact_phones: bool = True
    keep_unredacted: bool = False

    def __post_init__(self) -> None:
        for language, spec in self.languages.items():
            _check(bool(re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", language)), f"asr.languages.{language}",
                   "must be a language code such as en or zh")
            engine, sep, model = spec.partition(":")
            _check(spec == "" or (sep == ":" and engine in ("whisper", "vosk") and bool(model)),
                   f"asr.languages.{language}", 'must be "whisper:<model>", "vosk:<directory>" or ""')
        _check(bool(re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", self.default_language)),
               "asr.default_language", "must be a language code such as en")
        _check(1 <= self.beam_size <= 16, "asr.beam_size", "must be between 1 and 16")
        _check(1 <= self.threads <= 64, "asr.threads", "must be between 1 and 64")
        _check(1 <= self.max_attempts <= 100, "asr.max_attempts", "must be between 1 and 100")
        _check(self.retry_base_s > 0, "asr.retry_base_s", "must be > 0")


@dataclass(frozen=True)
class QaSettings:
    """Sentiment and scorecards. ``sentiment_model_dir`` empty means the model that
    ``callcenter qa build-model`` builds into ``<state_dir>/models/sentiment``; any Hugging Face
    text-classification model directory can replace it. Scorecards are read from
    ``<config_dir>/qa``."""

    sentiment_model_dir: str = ""
    batch_size: int = 32
    max_attempts: int = 3

    def __post_init__(self) -> None:
        _check(not self.sentiment_model_dir or self.sentiment_model_dir.startswith("/"),
               "qa.sentiment_model_dir", "must be an absolute path (or empty for the built model)")
        _check(1 <= self.batch_size <= 1024, "qa.batch_size", "must be between 1 and 1024")
        _check(1 <= self.max_attempts <= 100, "qa.max_attempts", "must be between 1 and 100")


@dataclass(frozen=True)
class OrdersSettings:
    """Where the screen-pop's order context comes from: ``postgres`` (the built-in tables) or
    ``http`` (an existing shop back end; URL templates take ``{phone}``, ``{order_number}`` and
    ``{customer_id}``)."""

    provider: str = "postgres"
    http_customer_url: str = ""
    http_order_url: str = ""
    http_orders_url: str = ""
    http_token: Secret = field(default_factory=lambda: Secret(""))
    timeout_s: float = 0.8
    retries: int = 1
    cache_ttl_s: float = 30.0
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0

    def __post_init__(self) -> None:
        _check(self.provider in ("postgres", "http"), "orders.provider", "must be postgres or http")
        _check(self.provider != "http" or self.http_customer_url.startswith(("http://", "https://")),
               "orders.http_customer_url", "must be an http(s) URL template when orders.provider is http")
        _check(self.timeout_s > 0, "orders.timeout_s", "must be > 0")
        _check(0 <= self.retries <= 5, "orders.retries", "must be between 0 and 5")
        _check(self.cache_ttl_s >= 0, "orders.cache_ttl_s", "must be >= 0")
        _check(self.breaker_failures >= 1, "orders.breaker_failures", "must be >= 1")
        _check(self.breaker_reset_s > 0, "orders.breaker_reset_s", "must be > 0")


@dataclass(frozen=True)
class HealthSettings:
    """``/healthz`` turns 503 when a task, loop or writer of the server has made no progress for
    ``stall_s``, or when jobs of a kind have waited ``worker_stall_s`` with no worker touching
    any job of that kind."""

    stall_s: float = 60.0
    worker_stall_s: float = 600.0

    def __post_init__(self) -> None:
        _check(self.stall_s > 0, "health.stall_s", "must be > 0")
        _check(self.worker_stall_s > 0, "health.worker_stall_s", "must be > 0")


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"

    def __post_init__(self) -> None:
        _check(self.level in ("debug", "info", "warning", "error"), "log.level",
               "must be one of debug, info, warning, error")


@dataclass(frozen=True)
class Settings:
    """``config_dir`` holds the data the server runs on: ``skills.yaml``, ``routing.yaml``,
    ``agents.yaml``, the IVR flows in ``ivr/`` and the QA scorecards in ``qa/``."""

    state_dir: Path = Path("state")
    config_dir: Path = Path("config")
    ami: AmiSettings = field(default_factory=AmiSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    qa: QaSettings = field(default_factory=QaSettings)
    orders: OrdersSettings = field(default_factory=OrdersSettings)
    log: LogSettings = field(default_factory=LogSettings)
    health: HealthSettings = field(default_factory=HealthSettings)


def _check(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise SettingsError(f"{key}: {problem}")


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
    sections = {name for name, tp in hints.items() if dataclasses.is_dataclass(tp)}
    top_level = {f.name for f in dataclasses.fields(Settings)} - sections
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        section, _, key = rest.partition("_")
        if section in sections and key:
            known = {f.name for f in dataclasses.fields(hints[section])}
            if key not in known and not (section == "ami" and key == "secret_file"):
                raise SettingsError(f"{name}: unknown setting ({section}.{key})")
            target = raw.setdefault(section, {})
            if not isinstance(target, dict):
                raise SettingsError(f"{section}: must be a table")
            target[key] = value
        elif rest in top_level:
            raw[rest] = value
        else:
            near = (difflib.get_close_matches(section, sorted(sections), n=1, cutoff=0.75)
                    or difflib.get_close_matches(rest, sorted(top_level), n=1, cutoff=0.75))
            if near:
                raise SettingsError(f"{name}: unknown setting (did you mean a {near[0]} setting?)")
            # not a setting: other tools' keys (CALLCENTER_TEST_DATABASE_URL, ...) are left alone


def _read_secret_file(path: str, key: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{key}: cannot read {path}: {exc.strerror}") from None


_HINTS: dict[type, dict[str, Any]] = {}


def _resolved_hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, globalns=globals())
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
    if tp is Secret:
        if not isinstance(value, str):
            raise SettingsError(f"{key}: must be a string")
        return Secret(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise SettingsError(f"{key}: must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise SettingsError(f"{key}: must be an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{key}: must be an integer, got {value!r}") from None
    if tp is float:
        if isinstance(value, bool):
            raise SettingsError(f"{key}: must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{key}: must be a number, got {value!r}") from None
    if tp is str:
        if not isinstance(value, str):
            raise SettingsError(f"{key}: must be a string, got {value!r}")
        return value
    if typing.get_origin(tp) is dict:
        return _string_table(value, key)
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise SettingsError(f"{key}: must be a non-empty path")
        return Path(value)
    raise SettingsError(f"{key}: unsupported setting type {tp!r}")


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


def require_ami_secret(settings: Settings) -> str:
    """Return the AMI secret, or fail naming the key when it is not configured.

    Raises:
        SettingsError: ``ami.secret`` is empty.
    """
    secret = settings.ami.secret.reveal()
    if not secret:
        raise SettingsError(
            "ami.secret: missing (set it in the config file, CALLCENTER_AMI_SECRET or "
            "CALLCENTER_AMI_SECRET_FILE)"
        )
    return secret
