"""The carrier's side of the real PBX: the customer's phone behind the carrier trunk (a pjsua
phone at the carrier's address, where ``Dial(PJSIP/<number>@carrier)`` sends calls) and the
carrier contact's status as Asterisk's qualify sees it.

Asterisk qualifies the carrier's contact with OPTIONS (``qualify_frequency`` 60 s, the first
at a random moment of the first minute, ``qualify_timeout`` 3 s) and on each ``PJSIPQualify``.
Every result, an answer or a timeout, sets the contact's status, in whatever order the
requests were sent. While the contact is Unreachable, chan_pjsip refuses every channel to the
carrier: the Dial never begins (``CHANUNAVAIL``, no ``DialBegin``) until a qualify is answered.
"""

from __future__ import annotations

import asyncio
import socket
import time

from tests.pbx.amiclient import TestAmi
from tests.pbx.overlay import CARRIER_ADDRESS
from tests.pbx.phones import Phone
from tests.pbx.rig import Rig


def free_carrier_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((CARRIER_ADDRESS, 0))
        return int(probe.getsockname()[1])


CARRIER_PORT = free_carrier_port()
_LISTENING = "Ready: Success"  # pjsua's line once its SIP socket is bound
_TAKEN_IN_S = 1.0  # a qualify's timeout reaches the contact's status through a task queue


def customer_phone(rig: Rig, answer: str, talk_s: int | None = 6) -> Phone:
    """The customer's phone on the carrier's side, where the carrier endpoint sends calls
    (hanging up after ``talk_s``; with None, when the test says so)."""
    args = ["--id", f"sip:customer@{CARRIER_ADDRESS}", "--bound-addr", CARRIER_ADDRESS,
            "--ip-addr", CARRIER_ADDRESS, "--local-port", str(CARRIER_PORT),
            "--rtp-port", str(rig.ports.caller_rtp + 160), "--auto-answer", answer,
            "--max-calls", "4"]
    if talk_s is not None:
        args += ["--duration", str(talk_s)]
    phone = Phone(rig.bundle, rig.work, f"customer-{answer}", args).start()
    rig.phones.append(phone)
    return phone


async def carrier_contact(ami: TestAmi) -> tuple[list[str], float]:
    """The carrier contacts' statuses and the carrier AOR's ``qualify_timeout`` (seconds)."""
    frames = await ami.send({"Action": "PJSIPShowEndpoint", "Endpoint": "carrier"})
    statuses = [f.get("Status") for f in frames
                if f.event == "ContactStatusDetail" and f.get("AOR") == "carrier"]
    timeouts = [f.get("QualifyTimeout") for f in frames
                if f.event == "AorDetail" and f.get("ObjectName") == "carrier"]
    if not timeouts or not timeouts[0]:
        raise AssertionError(f"no carrier AOR in PJSIPShowEndpoint: {[f.raw for f in frames]}")
    return statuses, float(timeouts[0])


async def carrier_reachable(ami: TestAmi, phone: Phone, timeout_s: float = 45.0) -> None:
    """Wait until Asterisk sees ``phone`` (the customer's phone behind the carrier trunk)
    Reachable, and no OPTIONS sent before it listened can still say otherwise.

    An OPTIONS sent while nothing listened at the carrier's address (before this test's
    phone bound its socket: the periodic qualify, or a ``PJSIPQualify``) times out
    ``qualify_timeout`` after it was sent, possibly after a later one the phone answered: the
    contact then turns Unreachable for up to a minute and an outside transfer's Dial never
    begins. So a Reachable status counts only once ``qualify_timeout`` (and a moment for
    Asterisk to take in the last of those timeouts) has passed since the phone listened; until
    then, and whenever it is not Reachable, the contact is qualified again (the phone answers
    those).
    """
    await phone.wait(_LISTENING, 20)
    listening = time.monotonic()
    deadline = listening + timeout_s
    while True:
        statuses, qualify_timeout_s = await carrier_contact(ami)
        reachable = bool(statuses) and all(s == "Reachable" for s in statuses)
        if reachable and time.monotonic() - listening > qualify_timeout_s + _TAKEN_IN_S:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"carrier contact not reachable within {timeout_s}s: {statuses}")
        if not reachable:
            await ami.send({"Action": "PJSIPQualify", "Endpoint": "carrier"})
        await asyncio.sleep(0.5)


async def carrier_unreachable(ami: TestAmi, timeout_s: float = 30.0) -> None:
    """Wait until the carrier's contact is Unreachable: nothing listens at the carrier's
    address (no customer phone), so a qualify times out; as a carrier that stopped answering
    OPTIONS is seen by a deployed PBX."""
    deadline = time.monotonic() + timeout_s
    while True:
        statuses, _ = await carrier_contact(ami)
        if statuses and all(s == "Unreachable" for s in statuses):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"carrier contact not unreachable within {timeout_s}s: {statuses}")
        await ami.send({"Action": "PJSIPQualify", "Endpoint": "carrier"})
        await asyncio.sleep(0.5)
