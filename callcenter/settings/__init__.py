"""Settings: the sections of one TOML file, as frozen dataclasses.

Each section checks its values in ``__post_init__``: a missing or invalid key raises
:class:`SettingsError` naming the key (``ami.port``); values of secret keys never appear in an
error or a log line, and :class:`Secret` hides itself from ``repr``. The file and the
``CALLCENTER_<SECTION>_<KEY>`` environment overrides are read by :mod:`callcenter.settings.loader`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


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
    """The IVR over AsyncAGI. ``post_call_survey``: when the agent hangs up first, the caller goes
    to ``[survey]``. The contexts must match ``asterisk-conf/extensions.conf``; an inbound call
    runs the flow its dialled extension names in ``flows_by_extension``, else ``inbound_flow``."""

    post_call_survey: bool = True
    inbound_flow: str = "aftersales"
    survey_flow: str = "survey"
    flows_by_extension: dict[str, str] = field(default_factory=dict)
    inbound_contexts: frozenset[str] = frozenset({"inbound"})
    survey_contexts: frozenset[str] = frozenset({"survey"})
    fallback_contexts: frozenset[str] = frozenset({"ivr-fallback"})
    fallback_skill: str = "general"
    # the wait for one AGI command's answer; hold music without a limit; order lookups; the
    # recorder, router and ticket writes
    command_timeout_s: float = 60.0
    hold_timeout_s: float = 4 * 3600.0
    lookup_timeout_s: float = 3.0
    sink_timeout_s: float = 5.0
    record_dir: str = "/var/spool/asterisk/ivr-messages"
    record_format: str = "wav"
    # the channel variable that tells the dialplan where the IVR stands (active, routed, failed)
    state_variable: str = "CC_IVR"
    max_digits: int = 64
    # effects failing in a row before the call is left to the dialplan's safety net
    max_failures: int = 4
    # calls whose IVR language, context and steps are kept for the agent's screen
    remember_calls: int = 10_000
    summary_steps: int = 30
    # AMI link lost under a command: wait this long for it to come back, then send the command
    # again (the channel still waits in AsyncAGI); at most link_retries times per command
    link_wait_s: float = 30.0
    link_retries: int = 3

    def __post_init__(self) -> None:
        for name in ("inbound_flow", "survey_flow", "fallback_skill", "record_format"):
            _check(bool(getattr(self, name)), f"ivr.{name}", "must not be empty")
        for name in ("inbound_contexts", "survey_contexts", "fallback_contexts"):
            _check(bool(getattr(self, name)), f"ivr.{name}", "must name at least one context")
        for name in ("command_timeout_s", "hold_timeout_s", "lookup_timeout_s", "sink_timeout_s",
                     "link_wait_s"):
            _check(getattr(self, name) > 0, f"ivr.{name}", "must be > 0")
        _check(self.record_dir.startswith("/"), "ivr.record_dir", "must be an absolute path")
        _check(bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.state_variable)), "ivr.state_variable",
               "must be a channel variable name (letters, digits, _)")
        _check(1 <= self.max_digits <= 1024, "ivr.max_digits", "must be between 1 and 1024")
        _check(self.max_failures >= 0, "ivr.max_failures", "must be >= 0")
        _check(self.remember_calls >= 1, "ivr.remember_calls", "must be >= 1")
        _check(self.summary_steps >= 1, "ivr.summary_steps", "must be >= 1")
        _check(0 <= self.link_retries <= 100, "ivr.link_retries", "must be between 0 and 100")


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
    # while a call goes on, its recordings are transcribed this often (seconds; 0 = only after
    # hang-up), so that at hang-up only the last words are left to decode
    follow_s: float = 3.0
    # the worker's CPU priority (Unix nice, 0-19): on a host shared with the server and Asterisk,
    # decoding gives way to call handling (routing, the IVR) instead of delaying it
    nice: int = 10

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
        _check(0 <= self.follow_s <= 3600, "asr.follow_s", "must be between 0 and 3600 seconds")
        _check(0 <= self.nice <= 19, "asr.nice", "must be between 0 and 19")
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
    nice: int = 10  # the worker's CPU priority (as asr.nice)

    def __post_init__(self) -> None:
        _check(not self.sentiment_model_dir or self.sentiment_model_dir.startswith("/"),
               "qa.sentiment_model_dir", "must be an absolute path (or empty for the built model)")
        _check(1 <= self.batch_size <= 1024, "qa.batch_size", "must be between 1 and 1024")
        _check(1 <= self.max_attempts <= 100, "qa.max_attempts", "must be between 1 and 100")
        _check(0 <= self.nice <= 19, "qa.nice", "must be between 0 and 19")


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
class LiveSettings:
    """``enabled``: spy on each bridged call's two legs and stream them to this server.
    ``listen_host``/``listen_port``: the AudioSocket server (0: a free port); ``advertise_host``:
    the address Asterisk connects to (empty: ``listen_host``). A segment that waited ``stale_s``
    for a worker is no longer decoded live (the post-call pass covers it). Alerts: ``prohibited_words``
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
    stale_s: float = 60.0
    prohibited_words: frozenset[str] = field(default_factory=frozenset)
    negative_window: int = 4
    negative_count: int = 3
    silence_s: float = 30.0
    overtalk_s: float = 3.0
    default_handling_s: float = 600.0
    handling_target_s: dict[str, str] = field(default_factory=dict)
    # the live worker's CPU priority (as asr.nice; nearer the server's: its text is awaited)
    nice: int = 5

    def __post_init__(self) -> None:
        _check(0 <= self.listen_port <= 65535, "live.listen_port", "must be between 0 and 65535")
        _check(1 <= self.max_streams <= 4096, "live.max_streams", "must be between 1 and 4096")
        _check(1 <= self.beam_size <= 10, "live.beam_size", "must be between 1 and 10")
        _check(0 <= self.nice <= 19, "live.nice", "must be between 0 and 19")
        _check(self.lease_s >= 2, "live.lease_s", "must be >= 2")
        _check(self.stale_s > 0, "live.stale_s", "must be > 0")
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
    live: LiveSettings = field(default_factory=LiveSettings)


def _check(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise SettingsError(f"{key}: {problem}")


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
