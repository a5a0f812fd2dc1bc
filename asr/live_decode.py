"""One Whisper decode of a short live phrase, with the encoder run on the phrase's length only.

Whisper's encoder always runs over a 30-second window; for a 4-second phrase that is most of the
decode's cost. As whisper.cpp's ``audio_ctx`` does, this runs the encoder's own layers on a
shorter window, the phrase plus a margin and at least ``MIN_S`` (its convolutions, the first
positions of its position table, its layers and final norm), then decodes against that shorter
encoding exactly as :meth:`asr.whisper.WhisperModel.decode` does. Blocking; one decode at a time
per model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from asr.beam import BeamSearch
from asr.whisper import HOP, SAMPLE_RATE, Decoded, WhisperModel

MARGIN_S = 1.0  # of silence after the phrase, as the model is used to padding after speech
# the shortest window: below 15 s tiny.en starts to lose words at a phrase's start (measured on
# the lab's SIP recordings: at 15 s the text matches the full window's, for 0.45 instead of
# 0.7 CPU-seconds a phrase; at 5-10 s, 0.3 CPU-seconds but words lost)
MIN_S = 15.0


def encode_short(model: WhisperModel, samples: np.ndarray) -> Any:
    """The encoder's output over the phrase (16 kHz float) and a margin, not the whole window."""
    torch = model._torch
    seconds = max(MIN_S, samples.size / SAMPLE_RATE + MARGIN_S)
    frames = min(3000, 2 * math.ceil(seconds * SAMPLE_RATE / HOP / 2))
    encoder = model._model.model.encoder
    features = model.features(samples)[..., :frames]
    hidden = torch.nn.functional.gelu(encoder.conv1(features))
    hidden = torch.nn.functional.gelu(encoder.conv2(hidden)).permute(0, 2, 1)
    hidden = hidden + encoder.embed_positions.weight[: hidden.shape[1]]
    for layer in encoder.layers:
        out = layer(hidden, None)
        hidden = out[0] if isinstance(out, tuple) else out
    return encoder.layer_norm(hidden)


def decode_short(model: WhisperModel, samples: np.ndarray, language: str, beam_size: int = 1) -> Decoded:
    """:meth:`WhisperModel.decode` with :func:`encode_short` (a phrase of at most 30 s)."""
    torch = model._torch
    prompt = model.tokens.prompt(language)
    budget = min(model._max_target - len(prompt) - 1, int(samples.size / SAMPLE_RATE * 12) + 16)
    beams = max(1, beam_size)
    search = BeamSearch(torch, beams, model.tokens.eot)
    with torch.inference_mode():
        encoded = encode_short(model, samples).expand(beams, -1, -1)
        decoder = model._model.model.decoder
        out = decoder(input_ids=torch.tensor([prompt] * beams), encoder_hidden_states=encoded, use_cache=True)
        no_speech = model._no_speech(out)
        for step in range(budget):
            logits = model._model.proj_out(out.last_hidden_state[:, -1])
            if not search.advance(model._log_probabilities(logits, step)):
                break
            cache = out.past_key_values
            if beams > 1:
                cache.reorder_cache(torch.tensor(search.keep))
            out = decoder(input_ids=torch.tensor(search.last_tokens()), encoder_hidden_states=encoded,
                          use_cache=True, **{model._cache_arg: cache})
    ids, logprobs = search.best()
    return model._decoded([t for t in ids if t != model.tokens.eot], logprobs, no_speech)
