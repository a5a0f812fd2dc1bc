"""The speech package's own error, shared by every engine and the model catalogue."""

from __future__ import annotations


class ModelError(RuntimeError):
    """The model is missing, refused (checksum) or does not load."""
