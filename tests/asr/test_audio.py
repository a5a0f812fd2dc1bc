"""Reading call audio: the formats the recognizer takes, and clear errors for the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asr.audio import AudioError, read_wav
from tests.asr.helpers import write_wav


def tone(seconds: float, rate: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def test_mono_8k_and_16k_are_read(tmp_path: Path) -> None:
    for rate in (8000, 16000):
        [audio] = read_wav(write_wav(tmp_path / f"a{rate}.wav", tone(1.0, rate), rate))
        assert audio.rate == rate and audio.duration_s == pytest.approx(1.0)
        assert not audio.is_silent()


def test_stereo_is_split_into_two_speakers(tmp_path: Path) -> None:
    left, right = tone(1.0), np.zeros(8000, dtype=np.int16)
    both = np.column_stack([left, right]).reshape(-1)
    first, second = read_wav(write_wav(tmp_path / "s.wav", both, channels=2))
    assert not first.is_silent() and second.is_silent()
    assert first.duration_s == second.duration_s == pytest.approx(1.0)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk"), "not a readable WAV"),
    (lambda p: p.write_bytes(b"\x00\x01" * 500), "not a readable WAV"),
    (lambda p: write_wav(p, tone(1.0, 44100), 44100), "44100 Hz"),
    (lambda p: write_wav(p, np.zeros(0, dtype=np.int16)), "no audio"),
])
def test_broken_audio_gets_a_clear_error(tmp_path: Path, make: Callable[[Path], object], reason: str) -> None:
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=reason):
        read_wav(path)


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "t.wav", tone(2.0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated"):
        read_wav(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not found"):
        read_wav(tmp_path / "nope.wav")


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), keep_header=st.booleans())
def test_any_bytes_give_audio_or_a_clear_error(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                                               keep_header: bool) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.wav"
    header = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80>\x00\x00\x02\x00\x10\x00data"
    path.write_bytes((header if keep_header else b"") + data)
    try:
        read_wav(path)
    except AudioError as exc:
        assert "f.wav" in str(exc)


def test_a_recording_still_being_written_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    from asr.growing import GrowingWav
    from callcenter.simulator.recorder import write_open_header

    path = tmp_path / "open.wav"
    write_open_header(path)
    empty = GrowingWav(path).layout()
    assert empty is not None and empty.samples == 0, "no audio yet"
    samples = (np.arange(8001) % 200 - 100).astype("<i2")
    with open(path, "ab") as fh:
        fh.write(samples.tobytes()[:-1])  # a sample cut in half at the end of what is written
    growing = GrowingWav(path)
    layout = growing.layout()
    assert layout is not None and (layout.rate, layout.samples) == (8000, 8000)
    assert np.array_equal(growing.samples(0, 8000), samples[:8000])
    assert np.array_equal(growing.samples(7990, 9000), samples[7990:8000]), "no more than is written"
    closed = GrowingWav(write_wav(tmp_path / "closed.wav", samples))
    whole = closed.layout()
    assert whole is not None and whole.samples == 8001
    assert closed.samples(0, 8001).tobytes() == read_wav(closed.path)[0].pcm
    assert GrowingWav(tmp_path / "missing.wav").layout() is None, "not there yet"
    (tmp_path / "short.wav").write_bytes(b"RIFF")
    assert GrowingWav(tmp_path / "short.wav").layout() is None, "its header is being written"


def test_a_growing_file_that_can_never_be_followed_is_told_apart_from_one_not_written_yet(
        tmp_path: Path) -> None:
    from asr.growing import GrowingWav, UnsupportedTrack

    stereo = GrowingWav(write_wav(tmp_path / "stereo.wav", np.zeros(200), channels=2))
    with pytest.raises(UnsupportedTrack, match="2 channel"):
        stereo.layout()
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(UnsupportedTrack, match="RIFF"):
        GrowingWav(tmp_path / "junk.wav").layout()
    header = write_wav(tmp_path / "ok.wav", np.zeros(200)).read_bytes()[:36]
    (tmp_path / "nofmt.wav").write_bytes(header[:12] + b"data" + (0).to_bytes(4, "little"))
    with pytest.raises(UnsupportedTrack, match="fmt"):
        GrowingWav(tmp_path / "nofmt.wav").layout()
