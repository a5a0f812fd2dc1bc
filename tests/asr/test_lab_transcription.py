"""The real engine on the lab's refund call: every utterance falls in its speaker's speech
window (shared/asterisk-lab/README.md: agent 0-5.6 s and ~15-24 s, customer ~5-15 s)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asr.audio import read_wav
from asr.cli import run_transcribe
from asr.transcriber import transcribe
from asr.worker import decode_file
from callcenter.settings import Settings
from tests.asr.helpers import LAB, read_samples, write_wav
from tests.asr.model_fixture import vosk_model

__all__ = ["vosk_model"]

TOLERANCE_S = 0.5
WINDOWS = {"customer": [(5.0, 15.0)], "agent": [(0.0, 5.6), (15.0, 24.0)]}


def inside(speaker: str, start: float, end: float) -> bool:
    return any(lo - TOLERANCE_S <= start and end <= hi + TOLERANCE_S for lo, hi in WINDOWS[speaker])


@pytest.mark.parametrize("speaker", ["customer", "agent"])
def test_each_speakers_utterances_lie_in_their_speech_windows(vosk_model: Any, speaker: str) -> None:
    [audio] = read_wav(LAB / f"refund-call-{speaker}.wav")
    utterances = transcribe(vosk_model, speaker, audio)
    assert utterances, "speech gives utterances"
    for u in utterances:
        assert u.speaker == speaker
        assert inside(speaker, u.start, u.end), (speaker, u.start, u.end)
        assert u.words and all(0.0 <= w["conf"] <= 1.0 and w["start"] <= w["end"] for w in u.words)
    if speaker == "agent":  # the greeting and the answer are two utterances, not one
        assert any(u.end <= 5.6 + TOLERANCE_S for u in utterances)
        assert any(u.start >= 15.0 - TOLERANCE_S for u in utterances)


def test_a_silent_file_gives_no_utterances(vosk_model: Any, tmp_path: Path) -> None:
    [audio] = read_wav(write_wav(tmp_path / "silence.wav", np.zeros(8000 * 5, dtype=np.int16)))
    assert transcribe(vosk_model, "customer", audio) == []


def test_16k_audio_gives_the_same_windows(vosk_model: Any, tmp_path: Path) -> None:
    samples, _ = read_samples(LAB / "refund-call-customer.wav")
    upsampled = np.repeat(samples, 2)
    [audio] = read_wav(write_wav(tmp_path / "c16.wav", upsampled, 16000))
    utterances = transcribe(vosk_model, "customer", audio)
    assert utterances and all(inside("customer", u.start, u.end) for u in utterances)


def test_a_stereo_call_file_is_split_into_customer_and_agent(vosk_model: Any, tmp_path: Path) -> None:
    customer, _ = read_samples(LAB / "refund-call-customer.wav")
    agent, _ = read_samples(LAB / "refund-call-agent.wav")
    stereo = np.column_stack([customer, agent]).reshape(-1)
    utterances, duration = decode_file(vosk_model, "mixed", write_wav(tmp_path / "call.wav", stereo, channels=2))
    assert duration == pytest.approx(24.56, abs=0.1)
    assert {u.speaker for u in utterances} == {"customer", "agent"}
    assert all(inside(u.speaker, u.start, u.end) for u in utterances)
    assert [u.start for u in utterances] == sorted(u.start for u in utterances)


def test_transcribe_command_labels_speakers_by_file_name(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    args = argparse.Namespace(files=[LAB / "refund-call-customer.wav"],
                              speaker=[f"agent={LAB / 'refund-call-agent.wav'}"], model=None)
    assert run_transcribe(args, Settings(state_dir=tmp_path)) == 0
    out = json.loads(capsys.readouterr().out)
    utterances = out["utterances"]
    assert {u["speaker"] for u in utterances} == {"customer", "agent"}
    assert set(utterances[0]) == {"speaker", "start", "end", "text", "words"}
    assert all(inside(u["speaker"], u["start"], u["end"]) for u in utterances)


def test_transcribe_command_reports_broken_audio(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "x-customer.wav"
    bad.write_bytes(b"RIFF....WAVEnot really")
    args = argparse.Namespace(files=[bad], speaker=[], model=None)
    assert run_transcribe(args, Settings(state_dir=tmp_path)) == 1
    assert "x-customer.wav: not a readable WAV" in capsys.readouterr().err
