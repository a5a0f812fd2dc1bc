"""The test overlay on the project's ``asterisk-conf/``: only what a deployer changes.

A deployer copies ``asterisk-conf/`` to the PBX and changes secrets, passwords, addresses and
ports; so does this overlay, and nothing else of the shipped dialplan, AMI user or endpoints:

- ``manager.conf``: the AMI port and the ``callcenter`` user's secret. One more AMI user,
  ``pbxtest``, is added for the test itself: in a test the carrier side is simulated too, and
  the test watches the PBX through it (never the server's user).
- ``pjsip.conf``: the SIP port (bound to loopback), one agent endpoint per test phone (the
  file's own three-section recipe, "copy the three agent sections per agent") with its
  password, and the carrier's address: the carrier is a SIP phone on ``127.0.0.2`` (identified
  by that address, as a trunk is by its address) that sends no registration.
- ``rtp.conf``: the RTP port range.

Every edit checks that the text it changes is there, so a change to ``asterisk-conf/`` that the
overlay no longer fits fails loudly instead of running a different configuration.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CARRIER_ADDRESS = "127.0.0.2"


@dataclass(frozen=True)
class OverlaySpec:
    ami_port: int = 15038
    sip_port: int = 15060
    rtp_start: int = 21000
    rtp_end: int = 21999
    ami_secret: str = "test-secret"
    test_ami_secret: str = "test-observer"
    agents: tuple[str, ...] = ("1001", "1002", "1003")
    agent_password: dict[str, str] = field(default_factory=dict)
    carrier_port: int = 5060
    extra_files: dict[str, str] = field(default_factory=dict)  # e.g. queues.conf for a baseline
    # a deployer's mistake, for the tests of refused actions: the server's AMI user's write classes
    ami_write: str | None = None
    # Asterisk stamps each event with the instant it raised it (``Timestamp``): for benchmarks,
    # whose instants must not include when a reader got round to reading the event
    timestamp_events: bool = False

    def password(self, agent: str) -> str:
        return self.agent_password.get(agent, f"pw-{agent}-secret")


def _replace(text: str, old: str, new: str, what: str) -> str:
    if old not in text:
        raise ValueError(f"asterisk-conf changed: {what} ({old!r}) not found")
    return text.replace(old, new)


def _sub(text: str, pattern: str, new: str, what: str, flags: int = re.M) -> str:
    result, count = re.subn(pattern, new, text, flags=flags)
    if count == 0:
        raise ValueError(f"asterisk-conf changed: {what} ({pattern!r}) not found")
    return result


def manager_conf(text: str, spec: OverlaySpec) -> str:
    text = _sub(text, r"^port = \d+", f"port = {spec.ami_port}", "manager.conf port")
    text = _sub(text, r"^(\[callcenter\]\nsecret = ).*$", rf"\g<1>{spec.ami_secret}", "AMI secret")
    if spec.timestamp_events:
        text = _sub(text, r"^timestampevents = no$", "timestampevents = yes", "manager.conf timestampevents")
    if spec.ami_write is not None:
        text = _sub(text, r"^write = .*$", f"write = {spec.ami_write}", "the callcenter user's write classes")
    return text + (
        "\n; --- test overlay: the test's own AMI user (simulated carrier, observer) ---\n"
        f"[pbxtest]\nsecret = {spec.test_ami_secret}\ndeny = 0.0.0.0/0.0.0.0\n"
        "permit = 127.0.0.1/255.255.255.255\nread = all\nwrite = all\nwritetimeout = 5000\n")


_AGENT_BLOCK = re.compile(r"^\[(\d+)\]\(agent-endpoint\)\n.*?^\[\1\]\(agent-aor\)\n", re.M | re.S)


def pjsip_conf(text: str, spec: OverlaySpec) -> str:
    text = _sub(text, r"^bind=0\.0\.0\.0:5060$", f"bind=127.0.0.1:{spec.sip_port}", "SIP transport bind")
    blocks = list(_AGENT_BLOCK.finditer(text))
    if not blocks:
        raise ValueError("asterisk-conf changed: no agent endpoint sections in pjsip.conf")
    recipe = blocks[0].group(0)
    first = blocks[0].group(1)
    agents = "".join(
        re.sub(r"^password=.*$", f"password={spec.password(a)}", recipe.replace(first, a), flags=re.M)
        for a in spec.agents)
    text = text[:blocks[0].start()] + agents + text[blocks[-1].end():]
    # the carrier: its address and port; it authenticates by address, so no registration
    text = _replace(text, "contact=sip:sip.carrier.example:5060",
                    f"contact=sip:{CARRIER_ADDRESS}:{spec.carrier_port}", "carrier contact")
    text = _replace(text, "match=sip.carrier.example", f"match={CARRIER_ADDRESS}", "carrier match")
    text = _replace(text, "from_domain=sip.carrier.example", f"from_domain={CARRIER_ADDRESS}",
                    "carrier from_domain")
    text = _replace(text, "username=CHANGE-ME-account", "username=test-carrier", "carrier account")
    text = _replace(text, "password=CHANGE-ME-password", "password=test-carrier-secret", "carrier password")
    text = _sub(text, r"^\[carrier-registration\]\n(?:[^\[\n][^\n]*\n?)*", "", "carrier registration")
    return text


def rtp_conf(text: str, spec: OverlaySpec) -> str:
    text = _sub(text, r"^rtpstart=\d+$", f"rtpstart={spec.rtp_start}", "rtpstart")
    return _sub(text, r"^rtpend=\d+$", f"rtpend={spec.rtp_end}", "rtpend")


def write_overlay(source: Path, target: Path, spec: OverlaySpec) -> Path:
    """Copy ``source`` (the project's asterisk-conf) to ``target`` with the overlay applied."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    edits = {"manager.conf": manager_conf, "pjsip.conf": pjsip_conf, "rtp.conf": rtp_conf}
    for conf in sorted(source.glob("*.conf")):
        text = conf.read_text(encoding="utf-8")
        edit = edits.get(conf.name)
        (target / conf.name).write_text(edit(text, spec) if edit else text, encoding="utf-8")
    for name, text in spec.extra_files.items():
        (target / name).write_text(text, encoding="utf-8")
    return target
