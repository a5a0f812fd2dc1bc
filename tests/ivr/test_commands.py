"""AGI command lines and result decoding, against the real result formats of Asterisk 22."""

from __future__ import annotations

import pytest

from callcenter.ami.agi import parse_agi_result
from ivr import commands as cmd


@pytest.mark.parametrize(("encoded", "digits", "timed_out"), [
    ("200%20result%3D2%0A", "2", False),
    ("200%20result%3D%20(timeout)%0A", "", True),
    ("200%20result%3D0042%0A", "0042", False),
    ("200%20result%3D12*3%0A", "12*3", False),
    ("200%20result%3D123%20(timeout)%0A", "123", True),
    ("200%20result%3D%0A", "", False),
    ("200%20result%3D-1%0A", "", False),
])
def test_get_data_digits(encoded: str, digits: str, timed_out: bool) -> None:
    result = parse_agi_result(encoded)
    assert cmd.get_data_digits(result) == digits
    assert result.timed_out is timed_out


def test_stream_file_interrupted_by_digit_and_not() -> None:
    assert cmd.interrupted_by(parse_agi_result("200%20result%3D50%20endpos%3D4000%0A")) == "2"
    assert cmd.interrupted_by(parse_agi_result("200%20result%3D0%20endpos%3D11234%0A")) == ""
    assert cmd.interrupted_by(parse_agi_result("200%20result%3D-1%20endpos%3D0%0A")) == ""


def test_command_lines() -> None:
    assert cmd.stream_file("hello-world") == 'STREAM FILE hello-world ""'
    assert cmd.stream_file("zh/main-menu", "120*") == "STREAM FILE zh/main-menu 120*"
    assert cmd.get_data("vm-enter-num-to-call", 6000, 1) == "GET DATA vm-enter-num-to-call 6000 1"
    assert cmd.exec_app("MusicOnHold", "default,120") == "EXEC MusicOnHold default,120"
    assert cmd.exec_app("Dial", "PJSIP/2000,30") == "EXEC Dial PJSIP/2000,30"
    assert cmd.set_variable("CC_IVR", "routed") == "SET VARIABLE CC_IVR routed"
    assert cmd.record_file("/var/spool/x/1-vm-1", "wav", "#", 120000, True, 5) == \
        'RECORD FILE /var/spool/x/1-vm-1 wav # 120000 0 BEEP s=5'
    assert cmd.quote('a b"c\\') == '"a b\\"c\\\\"'
    assert cmd.quote("") == '""'


def test_env_of_the_real_async_agi_start() -> None:
    env = cmd.parse_env("agi_request%3A%20async%0Aagi_channel%3A%20Local%2F4001%40inbound-00000006%3B2%0A"
                        "agi_language%3A%20en%0Aagi_callerid%3A%2013800000001%0Aagi_calleridname%3A%20"
                        "Alice%20Chen%0Aagi_context%3A%20inbound%0Aagi_extension%3A%204001%0A%0A")
    assert env["agi_channel"] == "Local/4001@inbound-00000006;2"
    assert env["agi_callerid"] == "13800000001" and env["agi_calleridname"] == "Alice Chen"
