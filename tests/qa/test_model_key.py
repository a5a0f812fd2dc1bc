"""Which built sentiment model is up to date: scripts/bootstrap and the tests reuse a model only
when its ``training.json`` names the key of the sources and settings as they are now."""

from __future__ import annotations

import json
from pathlib import Path

from qa.build import current_build, source_key


def built(directory: Path, source: str) -> Path:
    directory.mkdir()
    (directory / "config.json").write_text("{}", encoding="utf-8")
    (directory / "training.json").write_text(json.dumps({"accuracy": 0.9, "source": source}),
                                             encoding="utf-8")
    return directory


def test_a_model_built_from_the_current_sources_is_reused(tmp_path: Path) -> None:
    assert current_build(built(tmp_path / "m", source_key())) == {"accuracy": 0.9, "source": source_key()}


def test_a_model_from_other_sources_or_settings_is_out_of_date(tmp_path: Path) -> None:
    assert source_key(epochs=2) != source_key() == source_key()
    assert current_build(built(tmp_path / "old", source_key(epochs=2))) is None
    assert current_build(built(tmp_path / "older", "")) is None


def test_a_missing_or_damaged_model_is_out_of_date(tmp_path: Path) -> None:
    assert current_build(tmp_path / "nowhere") is None
    weights_gone = built(tmp_path / "gone", source_key())
    (weights_gone / "config.json").unlink()
    assert current_build(weights_gone) is None
    damaged = built(tmp_path / "damaged", source_key())
    (damaged / "training.json").write_bytes(b"\xff{")
    assert current_build(damaged) is None
    listed = built(tmp_path / "listed", source_key())
    (listed / "training.json").write_text("[1]", encoding="utf-8")
    assert current_build(listed) is None
