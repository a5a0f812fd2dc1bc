"""The live segmenter: speech cut as it ends; silence, noise and tones give nothing."""

from __future__ import annotations

import wave

import numpy as np

from callcenter.live.vad import RATE, Segmenter, VadConfig
from tests.amilab import LAB


def pcm(samples: np.ndarray) -> bytes:
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def silence(seconds: float, noise: float = 30.0, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, noise, int(RATE * seconds))


def voice(seconds: float, f0: float = 140.0, amplitude: float = 3000.0) -> np.ndarray:
    """A vowel-like sound: a harmonic series with a slowly moving pitch and formant weights."""
    t = np.arange(int(RATE * seconds)) / RATE
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    out = np.zeros_like(t)
    for k in range(1, 25):
        weight = np.exp(-((k * f0 - 700) / 500) ** 2) + 0.5 * np.exp(-((k * f0 - 1800) / 600) ** 2) + 0.05
        out += weight * np.sin(k * phase)
    return amplitude * out / np.max(np.abs(out))


def dtmf(seconds: float, low: float = 770.0, high: float = 1336.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return 4000 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))


def test_given_one_utterance_then_it_is_cut_after_the_hangover_with_its_times() -> None:
    seg = Segmenter()
    audio = np.concatenate([silence(1.0), voice(1.2), silence(1.0)])
    out = seg.feed(pcm(audio))
    assert len(out) == 1
    u = out[0]
    assert 0.75 <= u.start <= 1.0
    assert 2.15 <= u.speech_end <= 2.25
    assert u.end - u.speech_end < 0.5
    assert len(u.pcm) == round((u.end - u.start) * RATE) * 2


def test_given_audio_in_small_pieces_then_same_result_as_in_one_piece() -> None:
    audio = pcm(np.concatenate([silence(0.5), voice(0.8), silence(0.8), voice(0.6), silence(0.8)]))
    whole = Segmenter().feed(audio)
    seg = Segmenter()
    pieces = [u for i in range(0, len(audio), 98) for u in seg.feed(audio[i:i + 98])]
    assert [(u.start, u.end) for u in pieces] == [(u.start, u.end) for u in whole]
    assert len(whole) == 2


def test_given_speech_still_open_when_nothing_more_comes_then_nothing_until_flush() -> None:
    seg = Segmenter()
    assert seg.feed(pcm(np.concatenate([silence(0.3), voice(0.8)]))) == []
    flushed = seg.flush()
    assert len(flushed) == 1 and flushed[0].speech_end > 0.9


def test_given_silence_and_steady_noise_then_no_utterance() -> None:
    seg = Segmenter()
    assert seg.feed(pcm(silence(5.0, noise=20.0))) == []
    loud_hiss = silence(5.0, noise=800.0, seed=2)
    steady = Segmenter()
    steady.feed(pcm(loud_hiss))
    assert steady.feed(pcm(silence(5.0, noise=800.0, seed=3))) == []


def test_given_dtmf_tones_then_no_utterance_and_they_are_counted() -> None:
    seg = Segmenter()
    audio = np.concatenate([silence(0.5)] + [np.concatenate([dtmf(0.3), silence(0.7)]) for _ in range(3)])
    assert seg.feed(pcm(audio)) == []
    assert seg.dropped_tones == 3


def test_given_a_click_shorter_than_the_minimum_then_no_utterance() -> None:
    seg = Segmenter()
    assert seg.feed(pcm(np.concatenate([silence(0.5), voice(0.1), silence(1.0)]))) == []


def test_given_a_long_monologue_then_it_is_cut_at_max() -> None:
    seg = Segmenter(VadConfig(max_s=3.0))
    out = seg.feed(pcm(np.concatenate([silence(0.5), voice(7.0), silence(1.0)])))
    assert len(out) >= 2 and all(u.end - u.start <= 3.0 + 1e-6 for u in out)


def read_lab(name: str) -> np.ndarray:
    with wave.open(str(LAB / "recordings" / name)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (RATE, 2, 1)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def test_given_a_real_sip_call_customer_track_then_the_speech_span_is_found() -> None:
    """The lab's customer track: the customer speaks from about 6 s to 15.5 s."""
    out = Segmenter().feed(read_lab("sip-call-customer.wav").tobytes())
    assert out, "no speech found"
    assert 5.0 <= out[0].start <= 7.0
    assert 14.5 <= out[-1].speech_end <= 16.5
    assert all(u.end - u.start <= 15.0 for u in out)


def test_given_the_paused_call_then_nothing_is_cut_inside_the_muted_span() -> None:
    out = Segmenter().feed(read_lab("paused-call-customer.wav").tobytes())
    assert out and all(u.speech_end <= 6.1 or u.start >= 8.8 for u in out), out


def test_given_a_long_turn_with_short_pauses_then_it_is_cut_at_a_pause_after_soft_s() -> None:
    phrases = [np.concatenate([voice(1.5), silence(0.2, seed=k)]) for k in range(6)]
    out = Segmenter(VadConfig(soft_s=4.0, max_s=10.0)).feed(pcm(np.concatenate([silence(0.5), *phrases,
                                                                                   silence(1.0)])))
    assert len(out) >= 2
    assert all(u.end - u.start <= 6.5 for u in out), [(u.start, u.end) for u in out]
    assert 4.0 <= out[0].speech_end - out[0].start <= 6.5
