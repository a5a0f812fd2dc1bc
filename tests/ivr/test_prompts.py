"""The prompt catalogue and its recordings: every entry recorded, in Asterisk's native format."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.prompts import DEFAULT_CATALOGUE, check_catalogue, main, parse_catalogue, recording_path, wav_problem
from ivr.sounds import PROJECT_SOUNDS, PromptResolver, SoundIndex


def test_catalogue_is_valid_and_every_entry_is_recorded() -> None:
    assert check_catalogue(DEFAULT_CATALOGUE) == []


def test_recordings_are_8khz_16bit_mono_and_small() -> None:
    catalogue, _ = parse_catalogue(DEFAULT_CATALOGUE)
    assert catalogue is not None
    paths = [recording_path(PROJECT_SOUNDS, lang, name) for lang, name, _ in catalogue.files()]
    assert {str(p): wav_problem(p) for p in paths if wav_problem(p)} == {}
    assert sum(p.stat().st_size for p in paths) < 8 * 1024 * 1024
    on_disk = {p for p in PROJECT_SOUNDS.rglob("*.wav")}
    assert on_disk == set(paths), "recordings without a catalogue entry: regenerate or delete them"


def test_every_flow_prompt_has_english_and_chinese_or_neutral_recording_or_is_stock() -> None:
    index = SoundIndex.scan([PROJECT_SOUNDS])
    resolver = PromptResolver(index)
    assert resolver.resolve("welcome", "zh") == "zh/welcome"
    assert resolver.resolve("welcome", "en") == "en/welcome"
    assert resolver.resolve("choose-language", "zh") == "choose-language"
    assert resolver.resolve("beep", "zh") == "beep"  # stock prompt: Asterisk finds en/beep


def test_check_mode_passes() -> None:
    assert main(["--check"]) == 0


def test_catalogue_problems_are_named(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text("kind: prompts\nprompts:\n  hello:\n    fr: Bonjour\n  bad name:\n    en: x\n"
                    "  empty:\n    en: ''\n")
    found = {(p.node, p.field) for p in check_catalogue(path, out_dir=tmp_path)}
    assert {("hello", "fr"), ("bad name", ""), ("empty", "en")} <= found


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                    reason="needs Debian espeak-ng and sox")
def test_regenerating_a_prompt_gives_an_8khz_recording(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--only", "welcome", "choose-language"]) == 0
    for path in (tmp_path / "en" / "welcome.wav", tmp_path / "zh" / "welcome.wav",
                 tmp_path / "choose-language.wav"):
        assert wav_problem(path) is None
