"""The live decode of a phrase (the encoder on a shorter window) on the lab's real SIP recordings:
the same words as Whisper's full-window decode, for less work."""

from __future__ import annotations

import time
import wave

import numpy as np

from asr.engines import WhisperEngine
from asr.live_worker import phrase_window_s
from asr.whisper import resample
from callcenter.live.vad import Segmenter
from tests.amilab import LAB
from tests.asr.model_fixture import engines

KEY_WORDS = ("blender", "order", "broken", "upset", "refund")


def phrases(name: str) -> list[np.ndarray]:
    with wave.open(str(LAB / "recordings" / name)) as w:
        pcm = w.readframes(w.getnframes())
    return [resample(np.frombuffer(u.pcm, dtype="<i2").astype(np.float32) / 32768.0, 8000)
            for u in Segmenter().feed(pcm)]


def test_given_the_customers_phrases_then_the_short_window_hears_the_same_words_for_less_work() -> None:
    engine = engines().get("en")
    assert isinstance(engine, WhisperEngine)
    said = phrases("sip-call-customer.wav")
    assert len(said) >= 2
    full_cpu = short_cpu = 0.0
    full_text, short_text = [], []
    for samples in said:
        started = time.process_time()
        full_text.append(engine.model.decode(samples, "en", 1).text.lower())
        full_cpu += time.process_time() - started
        started = time.process_time()
        decoded = engine.model.decode(samples, "en", 1, window_s=phrase_window_s(samples.size / 16000))
        short_cpu += time.process_time() - started
        assert decoded.is_speech
        short_text.append(decoded.text.lower())
    heard = " ".join(short_text)
    assert all(word in heard for word in KEY_WORDS), short_text
    assert sum(w in " ".join(full_text) for w in KEY_WORDS) <= sum(w in heard for w in KEY_WORDS)
    assert short_cpu < full_cpu, (short_cpu, full_cpu)
