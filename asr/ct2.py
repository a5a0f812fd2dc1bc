"""Reading a CTranslate2 ``model.bin`` (faster-whisper's format) back into Whisper weights.

The file is little-endian: a header (binary version, model name, revision, variable count), then
per variable its name, rank, shape, dtype index and raw bytes, then aliases (name -> variable).
CTranslate2 fuses the self-attention q/k/v projections into one matrix and the cross-attention
k/v projections into another; Whisper's k projection has no bias (CTranslate2 stores zeros).
Pure numpy: no engine, no network.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# CTranslate2's DataType order
DTYPES: tuple[str, ...] = ("<f4", "i1", "<i2", "<i4", "<f2", "bfloat16")
SUPPORTED_VERSIONS = range(1, 7)


class Ct2Error(ValueError):
    """The file is not a CTranslate2 Whisper model this reader understands."""


@dataclass(frozen=True, slots=True)
class Ct2Model:
    name: str
    revision: int
    variables: dict[str, np.ndarray]


def _bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype("<u4") << 16).view("<f4")


def read_ct2(path: Path, progress: Callable[[float], None] | None = None) -> Ct2Model:
    """All variables of a CTranslate2 model file (aliases resolved).

    Raises:
        Ct2Error: truncated, not a CTranslate2 file, or an unknown version/dtype.
    """
    return read_ct2_bytes(path.read_bytes(), path.name, progress)


def read_ct2_bytes(raw_bytes: bytes, label: str,
                   progress: Callable[[float], None] | None = None) -> Ct2Model:
    """``read_ct2`` on the file's bytes (``label`` names it in errors)."""
    reader = _Reader(memoryview(raw_bytes), label)
    version = reader.number("I")
    if version not in SUPPORTED_VERSIONS:
        raise Ct2Error(f"{label}: not a CTranslate2 model (binary version {version})")
    name = reader.string()
    revision = reader.number("I") if version >= 2 else 1
    count = reader.number("I")
    variables: dict[str, np.ndarray] = {}
    for i in range(count):
        var, array = reader.variable(version)
        variables[var] = array
        if progress is not None and count:
            progress((i + 1) / count)
    if version >= 3 and not reader.at_end():
        for _ in range(reader.number("I")):
            alias, target = reader.string(), reader.string()
            if target in variables:
                variables[alias] = variables[target]
    return Ct2Model(name, revision, variables)


class _Reader:
    """A cursor over the file's bytes; every read checks that the file is long enough."""

    def __init__(self, data: memoryview, label: str) -> None:
        self.data = data
        self.label = label
        self.offset = 0

    def at_end(self) -> bool:
        return self.offset >= len(self.data)

    def number(self, fmt: str) -> int:
        size = struct.calcsize("<" + fmt)
        if self.offset + size > len(self.data):
            raise Ct2Error(f"{self.label}: truncated at byte {self.offset}")
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += size
        return int(value)

    def string(self) -> str:
        length = self.number("H")
        if length == 0 or self.offset + length > len(self.data):
            raise Ct2Error(f"{self.label}: truncated string at byte {self.offset}")
        raw = bytes(self.data[self.offset:self.offset + length - 1])
        self.offset += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Ct2Error(
                f"{self.label}: not a CTranslate2 model (bad name at byte {self.offset})") from None

    def variable(self, version: int) -> tuple[str, np.ndarray]:
        """One variable: name, rank, shape, dtype (version 4 on) and its raw values."""
        var = self.string()
        rank = self.number("B")
        shape = tuple(self.number("I") for _ in range(rank))
        dtype_id = self.number("B") if version >= 4 else 0
        if dtype_id >= len(DTYPES):
            raise Ct2Error(f"{self.label}: {var}: unknown dtype {dtype_id}")
        nbytes = self.number("I") if version >= 4 else int(np.prod(shape, dtype=np.int64)) * 4
        if self.offset + nbytes > len(self.data):
            raise Ct2Error(f"{self.label}: truncated in {var}")
        raw = self.data[self.offset:self.offset + nbytes]
        self.offset += nbytes
        dtype = DTYPES[dtype_id]
        if dtype == "bfloat16":
            array = _bfloat16_to_float32(np.frombuffer(raw, dtype="<u2"))
        else:
            array = np.frombuffer(raw, dtype=dtype)
        if array.size != int(np.prod(shape, dtype=np.int64)):
            raise Ct2Error(f"{self.label}: {var}: {array.size} values for shape {shape}")
        return var, array.reshape(shape)


@dataclass(frozen=True, slots=True)
class WhisperShape:
    vocab_size: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    encoder_heads: int
    decoder_heads: int
    ffn_dim: int
    num_mel_bins: int
    max_source_positions: int
    max_target_positions: int


def _scalar(variables: dict[str, np.ndarray], name: str, default: int) -> int:
    value = variables.get(name)
    return default if value is None else int(np.asarray(value).reshape(-1)[0])


def whisper_shape(model: Ct2Model) -> WhisperShape:
    v = model.variables
    if model.name != "WhisperSpec" or "decoder/embeddings/weight" not in v:
        raise Ct2Error(f"a {model.name} model, not Whisper")
    vocab, d_model = v["decoder/embeddings/weight"].shape
    enc = sum(1 for k in v if k.startswith("encoder/layer_") and k.endswith("ffn/linear_0/weight"))
    dec = sum(1 for k in v if k.startswith("decoder/layer_") and k.endswith("ffn/linear_0/weight"))
    heads = d_model // 64  # Whisper's heads are 64 wide
    return WhisperShape(
        vocab_size=int(vocab), d_model=int(d_model), encoder_layers=enc, decoder_layers=dec,
        encoder_heads=_scalar(v, "encoder/num_heads", heads),
        decoder_heads=_scalar(v, "decoder/num_heads", heads),
        ffn_dim=int(v["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        num_mel_bins=int(v["encoder/conv1/weight"].shape[1]),
        max_source_positions=int(v["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(v["decoder/position_encodings/encodings"].shape[0]))


def _f32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def _linear(out: dict[str, np.ndarray], hf: str, v: dict[str, np.ndarray], ct: str,
            bias: bool = True) -> None:
    out[f"{hf}.weight"] = _f32(v[f"{ct}/weight"])
    if bias:
        out[f"{hf}.bias"] = _f32(v[f"{ct}/bias"])


def _norm(out: dict[str, np.ndarray], hf: str, v: dict[str, np.ndarray], ct: str) -> None:
    out[f"{hf}.weight"] = _f32(v[f"{ct}/gamma"])
    out[f"{hf}.bias"] = _f32(v[f"{ct}/beta"])


def _split(out: dict[str, np.ndarray], hf: str, v: dict[str, np.ndarray], ct: str,
           names: tuple[str, ...]) -> None:
    weights = np.split(v[f"{ct}/weight"], len(names), axis=0)
    biases = np.split(v[f"{ct}/bias"], len(names), axis=0)
    for name, w, b in zip(names, weights, biases, strict=True):
        out[f"{hf}.{name}.weight"] = _f32(w)
        if name != "k_proj":  # Whisper's key projection has no bias
            out[f"{hf}.{name}.bias"] = _f32(b)


def whisper_state_dict(model: Ct2Model) -> dict[str, np.ndarray]:
    """The weights under ``WhisperForConditionalGeneration``'s names (float32).

    Raises:
        Ct2Error: a variable Whisper needs is missing.
    """
    shape = whisper_shape(model)
    out: dict[str, np.ndarray] = {}
    try:
        _encoder(out, model.variables, shape.encoder_layers)
        _decoder(out, model.variables, shape.decoder_layers)
    except KeyError as exc:
        raise Ct2Error(f"not a complete Whisper model: {exc.args[0]} is missing") from None
    return out


def _encoder(out: dict[str, np.ndarray], v: dict[str, np.ndarray], layers: int) -> None:
    """Two convolutions, positions, then per layer self-attention and the feed-forward block."""
    for conv in ("conv1", "conv2"):
        out[f"model.encoder.{conv}.weight"] = _f32(v[f"encoder/{conv}/weight"])
        out[f"model.encoder.{conv}.bias"] = _f32(v[f"encoder/{conv}/bias"])
    out["model.encoder.embed_positions.weight"] = _f32(v["encoder/position_encodings/encodings"])
    for i in range(layers):
        hf, ct = f"model.encoder.layers.{i}", f"encoder/layer_{i}"
        _self_attention(out, hf, v, ct)
        _feed_forward(out, hf, v, ct)
    _norm(out, "model.encoder.layer_norm", v, "encoder/layer_norm")


def _decoder(out: dict[str, np.ndarray], v: dict[str, np.ndarray], layers: int) -> None:
    """Token and position embeddings, then per layer self-attention, cross-attention (fused k/v)
    and the feed-forward block."""
    out["model.decoder.embed_tokens.weight"] = _f32(v["decoder/embeddings/weight"])
    out["model.decoder.embed_positions.weight"] = _f32(v["decoder/position_encodings/encodings"])
    for i in range(layers):
        hf, ct = f"model.decoder.layers.{i}", f"decoder/layer_{i}"
        _self_attention(out, hf, v, ct)
        _linear(out, f"{hf}.encoder_attn.q_proj", v, f"{ct}/attention/linear_0")
        _split(out, f"{hf}.encoder_attn", v, f"{ct}/attention/linear_1", ("k_proj", "v_proj"))
        _linear(out, f"{hf}.encoder_attn.out_proj", v, f"{ct}/attention/linear_2")
        _norm(out, f"{hf}.encoder_attn_layer_norm", v, f"{ct}/attention/layer_norm")
        _feed_forward(out, hf, v, ct)
    _norm(out, "model.decoder.layer_norm", v, "decoder/layer_norm")


def _self_attention(out: dict[str, np.ndarray], hf: str, v: dict[str, np.ndarray], ct: str) -> None:
    _split(out, f"{hf}.self_attn", v, f"{ct}/self_attention/linear_0", ("q_proj", "k_proj", "v_proj"))
    _linear(out, f"{hf}.self_attn.out_proj", v, f"{ct}/self_attention/linear_1")
    _norm(out, f"{hf}.self_attn_layer_norm", v, f"{ct}/self_attention/layer_norm")


def _feed_forward(out: dict[str, np.ndarray], hf: str, v: dict[str, np.ndarray], ct: str) -> None:
    _linear(out, f"{hf}.fc1", v, f"{ct}/ffn/linear_0")
    _linear(out, f"{hf}.fc2", v, f"{ct}/ffn/linear_1")
    _norm(out, f"{hf}.final_layer_norm", v, f"{ct}/ffn/layer_norm")
