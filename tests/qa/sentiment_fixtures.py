"""The default sentiment model with its build's metrics, once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.sentiment import sentiment_model


@pytest.fixture(scope="session")
def built_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    yield sentiment_model(tmp_path_factory.mktemp("sentiment") / "model")
