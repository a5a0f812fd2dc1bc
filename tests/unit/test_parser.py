"""The pure AMI frame parser: real frames, arbitrary splits, hostile bytes."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ami.agi import get_data_digits, parse_agi_result
from callcenter.ami.parser import BadFrame, Banner, Frame, FrameParser
from tests.amilab import capture

STREAM = b"".join(line.frame.encode("utf-8") for line in capture("utf8_callerid")
                  if line.direction == "in" and line.frame != "<EOF>")


def frames_of(items: list[object]) -> list[dict[str, str]]:
    return [item.fields for item in items if isinstance(item, Frame)]


def test_banner_then_frames_from_a_real_capture() -> None:
    items = FrameParser().feed(STREAM)
    assert items[0] == Banner("11.0.0")
    names = [f.get("Event") or f.get("Response") for f in frames_of(items)]
    assert names[0] == "Success" and "AsyncAGIStart" in names
    assert not [i for i in items if isinstance(i, BadFrame)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=40))
def test_any_split_of_the_stream_gives_the_same_frames(cuts: list[int]) -> None:
    whole = frames_of(FrameParser().feed(STREAM))
    parser = FrameParser()
    pieces: list[object] = []
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    for start, end in itertools.pairwise(bounds):
        pieces.extend(parser.feed(STREAM[start:end]))
    assert frames_of(pieces) == whole
    assert any(f.get("CallerIDName") == "陈丽华（VIP）" for f in whole)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_hostile_bytes_never_raise(chunks: list[bytes]) -> None:
    parser = FrameParser(max_frame_bytes=4096)
    for chunk in chunks:
        for item in parser.feed(chunk):
            assert isinstance(item, Frame | Banner | BadFrame)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True),
                       st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=50),
                       min_size=1, max_size=10))
def test_well_formed_events_round_trip(headers: dict[str, str]) -> None:
    headers = {"Event": "Custom", **{k: v for k, v in headers.items() if k != "Event"}}
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    parser = FrameParser()
    [item] = parser.feed(b"Asterisk Call Manager/11.0.0\r\n" + raw.encode("utf-8"))[1:]
    assert isinstance(item, Frame) and item.fields == headers


def test_oversized_frame_is_skipped_and_the_next_frame_parses() -> None:
    parser = FrameParser(max_frame_bytes=4096)
    items = parser.feed(b"Event: Big\r\nData: " + b"y" * 5000)
    items += parser.feed(b"z" * 5000 + b"\r\n\r\nEvent: Next\r\n\r\n")
    assert [type(i) for i in items] == [BadFrame, Frame]
    assert isinstance(items[1], Frame) and items[1].event == "Next"


def test_case_insensitive_lookup_and_repeated_headers() -> None:
    [item] = FrameParser().feed(b"Event: AsyncAGIExec\r\nCommandId: c1\r\nVariable: a=1\r\nVariable: b=2\r\n\r\n")
    assert isinstance(item, Frame)
    assert item.get("CommandID") == "c1"
    assert item.values("Variable") == ["a=1", "b=2"]


def test_agi_results_as_asterisk_22_sends_them() -> None:
    assert parse_agi_result("200%20result%3D2%0A").result == 2
    stream = parse_agi_result("200%20result%3D0%20endpos%3D11234%0A")
    assert stream.ok and stream.endpos == 11234
    failed = parse_agi_result("200%20result%3D-1%20endpos%3D0%0A")
    assert failed.result == -1 and not failed.ok
    timeout = parse_agi_result("200%20result%3D%20(timeout)%0A")
    assert timeout.timed_out and get_data_digits(timeout) == ""
    assert get_data_digits(parse_agi_result("200%20result%3D0123%0A")) == "0123"
    assert parse_agi_result("510%20Invalid%20or%20unknown%20command%0A").code == 510
    assert parse_agi_result("garbage").code == 0
