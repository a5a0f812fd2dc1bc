"""Where the real Asterisk 22 bundle and its pjsua softphone are, and what to do without them.

The bundle is ``../shared/asterisk-22`` beside the repository (``CALLCENTER_ASTERISK_BUNDLE``
overrides it): ``run-asterisk`` starts Asterisk on a config folder, ``run-asterisk --pjsua`` names
the softphone and ``run-asterisk --env`` its library path. Without the bundle or its Debian
packages the real-PBX tests are skipped on a developer's machine and FAIL on CI (``CI=true``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.machine_lock import machine_lock

REPO = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("CALLCENTER_ASTERISK_BUNDLE", REPO.parent / "shared" / "asterisk-22"))
# What run-asterisk needs besides the bundle (scripts/bootstrap installs them).
DEBIAN_PACKAGES = ("zstd", "libsrtp2-1", "asterisk-core-sounds-en-wav", "asterisk-moh-opsound-wav")


@dataclass(frozen=True)
class Bundle:
    run_asterisk: Path
    pjsua: Path
    library_path: str

    def env(self) -> dict[str, str]:
        """The environment pjsua and the Asterisk CLI run with."""
        return {**os.environ, "LD_LIBRARY_PATH": self.library_path}


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip on a developer's machine, fail on CI: a missing real PBX never passes silently there."""
    message = f"real Asterisk 22 unavailable: {reason}"
    if on_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _missing_packages() -> list[str]:
    if shutil.which("dpkg-query") is None:
        return []
    missing = []
    for package in DEBIAN_PACKAGES:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                capture_output=True, text=True, check=False).stdout
        if "install ok installed" not in status:
            missing.append(package)
    return missing


@functools.cache
def _locate() -> Bundle | str:
    script = BUNDLE / "run-asterisk"
    if not script.is_file():
        return f"no {script} (set CALLCENTER_ASTERISK_BUNDLE)"
    missing = _missing_packages()
    if missing:
        return f"Debian packages missing: {' '.join(missing)} (run scripts/bootstrap as root)"
    try:
        with machine_lock("asterisk-bundle"):  # run-asterisk unpacks the bundle on first use
            pjsua = subprocess.run([str(script), "--pjsua"], capture_output=True, text=True, check=True,
                                   timeout=120).stdout.strip()
            env = subprocess.run([str(script), "--env"], capture_output=True, text=True, check=True,
                                 timeout=120).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{script} failed: {exc}"
    return Bundle(script, Path(pjsua), env.split("=", 1)[1])


def bundle() -> Bundle:
    """The bundle, unpacked; skips (fails on CI) when it cannot be used."""
    found = _locate()
    if isinstance(found, str):
        unavailable(found)
        raise AssertionError("unreachable")
    return found
