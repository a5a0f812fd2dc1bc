"""structlog as JSON lines, with ``call_id`` bound per call through contextvars.

Bind a call's id inside the task that handles it (``bind_call(call_id)``); every log line that
task writes then carries it. Values of keys that look secret are masked before rendering.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

# A key is secret when one of its words (split at ``_``, ``-``, ``.`` and camelCase) is one of
# these: ``csrf_token``, ``ami_secret``, ``cardNumber`` are masked; ``scorecards`` or
# ``tokens_per_second`` are not (whole words only, no substrings).
_SECRET_WORDS = frozenset({"secret", "secrets", "password", "passwd", "pwd", "passphrase", "token",
                           "cookie", "authorization", "auth", "credential", "credentials", "apikey",
                           "card", "pan", "cvv", "cvc", "iban"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")


def is_secret_key(key: str) -> bool:
    """Whether a log field named ``key`` holds a secret (word match, see ``_SECRET_WORDS``)."""
    return any(word.lower() in _SECRET_WORDS for word in _WORD.findall(key))


def _mask_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if is_secret_key(key):
            event_dict[key] = "********"
        else:
            value = event_dict[key]
            if isinstance(value, str) and _CARD.search(value):
                event_dict[key] = _CARD.sub("[redacted-digits]", value)
    return event_dict


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON lines on ``stream`` (stderr by default); stdlib logging goes the same way."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    out = stream or sys.stderr
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _mask_secrets,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=out, format="%(message)s", force=True)


def bind_call(call_id: str) -> None:
    """Bind ``call_id`` for the current task (contextvars are per task)."""
    structlog.contextvars.bind_contextvars(call_id=call_id)


def unbind_call() -> None:
    structlog.contextvars.unbind_contextvars("call_id")
