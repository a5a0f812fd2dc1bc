"""Everything from the PBX is cleaned at the AMI edge, before any part of the product reads it."""

from __future__ import annotations

from urllib.parse import quote, unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ami import messages
from callcenter.ami.agi import parse_agi_result
from callcenter.ami.messages import AmiEvent
from callcenter.ami.parser import Frame, FrameParser, parse_frame
from callcenter.ami.sanitize import MAX_VALUE_CHARS, bounded_int, sanitize_frame


def event(*lines: str) -> AmiEvent:
    frame = parse_frame("\r\n".join(lines))
    assert isinstance(frame, Frame), frame
    sanitize_frame(frame)
    return AmiEvent(frame, 0.0)


def test_nul_and_control_characters_in_a_caller_id_name_become_spaces() -> None:
    ev = event("Event: Newchannel", "CallerIDName: Eve\x00\x07\x1b[31m\x9b", "Uniqueid: 1.1")
    assert ev.get("CallerIDName") == "Eve   [31m "
    assert "\x00" not in ev.frame.raw and "\x1b" not in ev.frame.raw


def test_a_lone_line_feed_inside_a_value_cannot_survive() -> None:
    parser = FrameParser()
    [frame] = parser.feed(b"Event: Newchannel\r\nCallerIDNum: 123\nEvent: Hangup\r\n"
                          b"CallerIDName: a\rb\r\n\r\n")
    assert isinstance(frame, Frame), frame
    sanitize_frame(frame)
    fields = frame.fields
    assert fields["CallerIDNum"] == "123 Event: Hangup" and fields["CallerIDName"] == "a b"
    assert fields["Event"] == "Newchannel"


def test_values_are_cut_to_a_bounded_length() -> None:
    ev = event("Event: Newchannel", "CallerIDName: " + "x" * 100_000, "Uniqueid: 1.1")
    assert len(ev.get("CallerIDName")) == MAX_VALUE_CHARS
    assert len(ev.frame.raw) < 10_000


def test_numbers_out_of_range_or_not_ascii_are_dropped() -> None:
    for cause in ("99999999999", "2147483648", "-1", "٤", "²", "1e3", " 16"):
        ev = event("Event: Hangup", f"Cause: {cause}", "Uniqueid: 1.1")
        assert ev.get("Cause") == "" and ev.cause is None, cause
    assert event("Event: Hangup", "Cause: 16", "Uniqueid: 1.1").cause == 16
    assert bounded_int("٤") is None and bounded_int("4") == 4


def test_url_encoded_env_cannot_carry_a_nul_or_control_character() -> None:
    env = quote("agi_callerid: 1%00\x00\x01x\nagi_calleridname: Bob\n", safe="")
    ev = event("Event: AsyncAGIStart", f"Env: {env}", "Uniqueid: 1.1")
    decoded = unquote(ev.get("Env"))
    assert "\x00" not in decoded and "\x01" not in decoded
    assert decoded.splitlines()[1] == "agi_calleridname: Bob"


def test_agi_results_never_raise_nor_accept_unicode_digits() -> None:
    assert parse_agi_result("200%20result%3D99999999999999999999").digit == ""
    assert parse_agi_result("200%20result%3D1114112").digit == ""
    assert parse_agi_result("200%20result%3D%D9%A4").result is None
    assert parse_agi_result("200%20result%3D49").digit == "1"


def test_an_originate_with_a_line_feed_in_the_caller_id_renders_safely() -> None:
    action = messages.Originate(channel="PJSIP/1001", application="Bridge", data="x",
                                caller_id='"Queue" <123\r\nAction: Hangup>').action()
    rendered = action.render("id-1").decode()
    lines = rendered.split("\r\n")
    assert [line for line in lines if line.startswith("Action:")] == ["Action: Originate"]
    assert rendered.endswith("\r\n\r\n") and rendered.count("\r\n\r\n") == 1


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["CallerIDName", "CallerIDNum", "Cause", "Channel", "Uniqueid",
                                        "Env", "Result", "Priority", "ChannelState", "Exten\x00"]),
                       st.text(max_size=200), max_size=8))
def test_any_header_values_come_out_storable_and_safe(headers: dict[str, str]) -> None:
    text = "Event: Hangup\r\n" + "\r\n".join(f"{k}: {v}" for k, v in headers.items())
    frame = parse_frame(text)
    assert isinstance(frame, Frame), frame
    sanitize_frame(frame)
    for key, value in [*frame.fields.items(), *frame.repeated]:
        for checked in (key, value, unquote(value) if key in ("Result", "Env") else ""):
            assert not any(ord(c) < 32 and c not in "\t\n" for c in checked), (key, value)
            if key not in ("Result", "Env"):
                assert "\n" not in checked
        assert len(value) <= MAX_VALUE_CHARS
    assert "\x00" not in frame.raw


def test_clean_url_encoded_values_are_left_exactly_as_asterisk_sent_them() -> None:
    for key, value in (("Result", "200%20result%3D0%0A"), ("Result", "200%20result%3D49%20endpos%3D0%0A"),
                       ("Env", "agi_request%3A%20async%0Aagi_channel%3A%20PJSIP%2Fa-1%0A%0A")):
        ev = event("Event: AsyncAGIExec", f"{key}: {value}", "Uniqueid: 1.1")
        assert ev.get(key) == value
