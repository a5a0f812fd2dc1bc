"""The default sentiment model for the tests: the one scripts/bootstrap built, when it was built
from the sources as they are now (its ``training.json`` names their key), else one built here
(about a minute on two idle cores, several when they are busy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.build import build_model, current_build

REPO = Path(__file__).resolve().parents[2]
BOOTSTRAPPED = REPO / "state" / "models" / "sentiment"


def sentiment_model(fallback: Path) -> tuple[Path, dict[str, Any]]:
    """(model directory, its build's metrics): bootstrap's, else ``fallback``'s (built there
    unless an up-to-date build is already in it)."""
    for directory in (BOOTSTRAPPED, fallback):
        metrics = current_build(directory)
        if metrics is not None:
            return directory, metrics
    return fallback, build_model(fallback)
