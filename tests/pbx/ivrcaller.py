"""A caller who listens: presses keys when the IVR's prompt for them is playing, as a person
does. The test's AMI link shows which AGI command runs on the caller's channel."""

from __future__ import annotations

from collections.abc import Callable

from tests.pbx.amiclient import Seen, TestAmi
from tests.pbx.phones import Phone


def on_channel(name: str, channel: str, command: str = "") -> Callable[[Seen], bool]:
    def match(seen: Seen) -> bool:
        return (seen.frame.event == name and seen.get("Channel") == channel
                and command in seen.get("Command"))
    return match


async def caller_channel(ami: TestAmi, number: str, since: float, timeout_s: float = 20.0) -> str:
    """The PBX channel of the carrier call from ``number`` (its Newchannel in [inbound])."""
    seen = await ami.wait(lambda e: e.frame.event == "Newchannel" and e.get("Context") == "inbound"
                          and e.get("CallerIDNum").endswith(number.lstrip("+")),
                          timeout_s, f"Newchannel in [inbound] from {number}", since)
    return seen.get("Channel")


async def press_at(ami: TestAmi, phone: Phone, channel: str, prompt: str, digits: str,
                   since: float, timeout_s: float = 30.0) -> Seen:
    """When the command playing ``prompt`` starts on ``channel``, press ``digits``."""
    try:
        started = await ami.wait(on_channel("AGIExecStart", channel, prompt),
                                 timeout_s, f"AGIExecStart {prompt} on {channel}", since)
    except AssertionError as exc:
        if ami.find(lambda e: e.frame.event == "Newexten" and e.get("Channel") == channel
                    and e.get("Context") == "cc-safety-net", since):
            raise AssertionError(f"{channel} never heard {prompt!r}: the dialplan's safety net took "
                                 "the call (the server's IVR heartbeat CC_IVR_HEARTBEAT was stale "
                                 "or missing)") from exc
        raise
    phone.dtmf(digits)
    return started


async def linkedid_of(ami: TestAmi, channel: str, timeout_s: float = 10.0) -> str:
    seen = await ami.wait(lambda e: e.frame.event == "Newchannel" and e.get("Channel") == channel,
                          timeout_s, f"Newchannel {channel}")
    return seen.get("Linkedid") or seen.get("Uniqueid")


async def through_menus(ami: TestAmi, phone: Phone, channel: str, steps: list[tuple[str, str]],
                        since: float) -> None:
    """Answer each (prompt, digits) in turn, each when its prompt plays."""
    for prompt, digits in steps:
        await press_at(ami, phone, channel, prompt, digits, since)
