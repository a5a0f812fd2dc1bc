"""asterisk-conf/ on the real Asterisk 22: the overlay changes only what a deployer changes, and
Asterisk loads the project's files without a warning about them."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from tests.pbx.bundle import Bundle
from tests.pbx.overlay import OverlaySpec, write_overlay
from tests.pbx.pbx import CONF, Pbx
from tests.pbx.slots import release, take_slot

# What a deployer edits; every other line of asterisk-conf/ must reach Asterisk unchanged.
DEPLOYER_LINES = re.compile(
    r"^(port = |secret = |bind=|password=|contact=sip:|match=|from_domain=|rtpstart=|rtpend=|"
    r"\[10\d\d\]|auth=10|aors=10|username=|\[carrier-registration\]|transport=transport-udp|"
    r"outbound_auth=carrier-auth|server_uri=|client_uri=|retry_interval=|type=registration)")
# Asterisk modules that read the files asterisk-conf/ ships
PROJECT_MODULES = ("pbx_config", "res_pjsip", "chan_pjsip", "manager", "app_voicemail",
                   "res_musiconhold", "rtp_engine", "res_rtp_asterisk", "app_mixmonitor")


def test_overlay_changes_only_secrets_addresses_ports_and_agent_sections(tmp_path: Path) -> None:
    spec = OverlaySpec(agents=("1001", "1002", "1003", "1004"))
    out = write_overlay(CONF, tmp_path / "conf", spec)
    assert sorted(p.name for p in out.glob("*.conf")) == sorted(p.name for p in CONF.glob("*.conf"))
    for conf in CONF.glob("*.conf"):
        before = conf.read_text(encoding="utf-8").splitlines()
        after = (out / conf.name).read_text(encoding="utf-8").splitlines()
        if conf.name == "manager.conf":  # the test's own AMI user is appended after the file
            after = after[:after.index("; --- test overlay: the test's own AMI user (simulated carrier, observer) ---")]
        for line in difflib.unified_diff(before, after, lineterm="", n=0):
            if line.startswith(("---", "+++", "@@")) or not line[1:].strip():
                continue
            assert DEPLOYER_LINES.match(line[1:]), f"{conf.name}: overlay changed {line!r}"
    manager = (out / "manager.conf").read_text(encoding="utf-8")
    assert "port = 15038" in manager and "secret = test-secret" in manager
    assert "CHANGE-ME" not in (out / "pjsip.conf").read_text(encoding="utf-8")
    assert "[1004](agent-endpoint)" in (out / "pjsip.conf").read_text(encoding="utf-8")


def test_real_asterisk_loads_asterisk_conf_without_warnings(bundle: Bundle, tmp_path: Path) -> None:
    ports = take_slot()
    pbx = Pbx(bundle, tmp_path, OverlaySpec(ami_port=ports.ami, sip_port=ports.sip,
                                            rtp_start=ports.rtp[0], rtp_end=ports.rtp[1]))
    try:
        pbx.start()
        assert "AGI(agi:async)" in pbx.cli("dialplan show inbound")
        assert "AGI(agi:async)" in pbx.cli("dialplan show survey")
        endpoints = pbx.cli("pjsip show endpoints")
        for name in ("1001", "1002", "1003", "carrier"):
            assert name in endpoints, endpoints
        assert "default" in pbx.cli("moh show classes")
        assert "callcenter" in pbx.cli("manager show users")
    finally:
        pbx.stop()
        release(ports)
    complaints = [line for line in pbx.log.read_text(errors="replace").splitlines()
                  if ("WARNING" in line or "ERROR" in line)
                  and any(f" {module}.c:" in line for module in PROJECT_MODULES)]
    assert not complaints, "Asterisk complained about asterisk-conf/:\n" + "\n".join(complaints)
