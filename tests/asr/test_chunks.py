"""The planner that decodes a recording while it grows (pure: samples in, segments out), on the
lab's real-Asterisk call tracks read as they were at each second of the call."""

from __future__ import annotations

import numpy as np
import pytest

from asr import chunks
from asr.vad import Segment, speech_segments
from tests.asr.helpers import LAB, read_samples

TRACKS = ["refund-call-customer.wav", "refund-call-agent.wav", "sip-call-customer.wav",
          "sip-call-agent.wav", "paused-call-customer.wav", "paused-call-agent.wav"]


@pytest.mark.parametrize("name", TRACKS)
def test_given_a_growing_track_when_planned_each_second_then_every_closed_segment_is_one_of_the_whole_files(
        name: str) -> None:
    samples, rate = read_samples(LAB / name)
    whole = [chunks.Decoded(s, None) for s in speech_segments(samples, rate)]
    assert whole, "the lab track holds speech"
    for second in range(1, int(samples.size / rate) + 1):
        for segment in chunks.closed_segments(samples[: second * rate], rate):
            assert chunks.find(segment, whole) is not None, (second, segment)


@pytest.mark.parametrize("name", TRACKS)
def test_given_the_whole_track_written_when_planned_then_all_but_a_segment_ending_at_the_end_are_closed(
        name: str) -> None:
    samples, rate = read_samples(LAB / name)
    whole = speech_segments(samples, rate)
    closed = chunks.closed_segments(samples, rate)
    total = samples.size / rate
    assert closed == [s for s in whole if s.end - 0.2 + 0.8 + 0.03 < total]
    assert len(closed) >= len(whole) - 1


def test_given_a_track_cut_while_someone_speaks_then_that_segment_is_not_closed_yet() -> None:
    samples, rate = read_samples(LAB / "refund-call-customer.wav")
    first = speech_segments(samples, rate)[0]
    cut = int((first.start + first.duration / 2) * rate)
    assert all(s.end <= first.start for s in chunks.closed_segments(samples[:cut], rate))


def test_given_speech_then_a_pause_shorter_than_the_join_then_the_segment_waits_for_it() -> None:
    rate = 8000
    t = np.arange(int(0.6 * rate)) / rate
    voice = (8000 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 440 * t))).astype(np.int16)
    silence = np.zeros(int(0.5 * rate), dtype=np.int16)
    samples = np.concatenate([silence, voice, silence])  # 0.5 s after the speech: may still join
    assert chunks.closed_segments(samples, rate) == []
    longer = np.concatenate([samples, np.zeros(int(0.6 * rate), dtype=np.int16)])
    assert len(chunks.closed_segments(longer, rate)) == 1


def test_to_decode_skips_decoded_segments_and_keeps_a_turn_within_its_budget() -> None:
    segments = [Segment(0.0, 4.0), Segment(5.0, 9.0), Segment(10.0, 19.0), Segment(20.0, 21.0)]
    done = [chunks.Decoded(Segment(0.0, 4.0), {"text": "hello"})]
    assert chunks.to_decode(segments, done, 10.0) == [Segment(5.0, 9.0)]
    assert chunks.to_decode(segments, done, 13.5) == [Segment(5.0, 9.0), Segment(10.0, 19.0)]
    assert chunks.to_decode(segments[2:3], [], 1.0) == [Segment(10.0, 19.0)], "at least one a turn"
    assert chunks.to_decode(segments[:1], done, 10.0) == []


def test_bounds_a_gate_frame_apart_are_another_segment_and_stored_rounding_is_the_same_one() -> None:
    done = [chunks.Decoded(Segment(1.0, 2.0), None)]
    assert chunks.find(Segment(1.0004, 1.9996), done) is done[0], "times stored to the millisecond"
    assert chunks.find(Segment(1.03, 2.0), done) is None, "the threshold moved the start a frame"
    assert chunks.find(Segment(1.0, 1.97), done) is None, "the threshold moved the end a frame"
    assert chunks.find(Segment(1.1, 2.0), done) is None


def test_decoded_segments_round_trip_and_malformed_rows_are_left_out() -> None:
    decoded = [chunks.Decoded(Segment(1.0, 2.5), {"text": "hi", "words": []}),
               chunks.Decoded(Segment(3.0, 4.0), None)]
    assert chunks.from_json(chunks.to_json(decoded)) == decoded
    assert chunks.from_json([[1, 2], ["a", 2, None], [1, 2, "text"], "x", [0.5, 1.5, None]]) == [
        chunks.Decoded(Segment(0.5, 1.5), None)]
    assert chunks.from_json({"not": "a list"}) == []


def test_a_segment_decoded_again_with_moved_bounds_replaces_the_old_decode() -> None:
    old = [chunks.Decoded(Segment(1.0, 2.0), {"text": "a"}), chunks.Decoded(Segment(3.0, 4.0), {"text": "b"})]
    again = [chunks.Decoded(Segment(2.97, 4.03), {"text": "b2"}), chunks.Decoded(Segment(5.0, 6.0), None)]
    assert chunks.merged(old, again) == [old[0], *again]
    assert chunks.merged(old, []) == old
