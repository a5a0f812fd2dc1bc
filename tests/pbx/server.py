"""The real ``callcenter serve`` and its ASR and QA workers, each in its own process, as a
deployer runs them: a settings file, the AMI secret and the database URL in the environment.

``web`` is a logged-in HTTP client for the server's API and agents' WebSockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from tests.pbx.bundle import REPO

# A deployer's environment for the server: nothing of the test runner's own settings
# (CALLCENTER_TEST_*, CI) leaks into it.
_KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "XDG_CACHE_HOME", "HF_HOME",
             "TRANSFORMERS_OFFLINE", "HF_HUB_OFFLINE")


def die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def share_models(state_dir: Path) -> None:
    """The Whisper models scripts/bootstrap converted into the repository's state/models, linked
    into a deployment's state folder. Without them each ASR and live worker of every rig converts
    them again into its fresh folder (the package's SHA-256, reading and writing the weights:
    3-9 s each on a quiet machine, over half a minute on a busy one, while the calls under test
    wait), and
    two workers of one rig write the same files at once. A model bootstrap did not prepare is
    still converted by the worker, into the deployment's own folder."""
    prepared = REPO / "state" / "models"
    models = state_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    for model in sorted(prepared.glob("whisper-*")):
        if (model / "model.safetensors").is_file() and not (models / model.name).exists():
            (models / model.name).symlink_to(model.resolve(), target_is_directory=True)


class Process:
    """One ``callcenter`` command in the background, its output in ``log``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "callcenter", *self.args],
                                            stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                            cwd=REPO, start_new_session=True,
                                            preexec_fn=die_with_parent)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up at all (a crash, an OOM kill)."""
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if not self.running():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


class Deployment:
    """Settings file, environment and processes of one server with its two workers."""

    def __init__(self, work: Path, *, config_dir: Path, db_url: str, ami_port: int, ami_secret: str,
                 monitor_dir: Path, sentiment: Path, survey: bool = True, live: bool = False,
                 ivr: Mapping[str, float] | None = None) -> None:
        self.work = work
        self.http_port = free_port()
        self.settings = work / "callcenter.toml"
        self.settings.write_text("\n".join([
            f'state_dir = "{work / "server-state"}"', f'config_dir = "{config_dir}"',
            "[ami]", 'host = "127.0.0.1"', f"port = {ami_port}", 'username = "callcenter"',
            # pings often (a frozen Asterisk is noticed within seconds) but give each Pong the
            # product's 5 s: the link runs through the recorder, a thread of the test process
            "reconnect_min_s = 0.2", "reconnect_max_s = 2.0", "ping_interval_s = 2.0",
            "ping_timeout_s = 5.0",
            "[http]", 'host = "127.0.0.1"', f"port = {self.http_port}",
            "[recording]", f'monitor_dir = "{monitor_dir}"', 'local_dir = ""', "grace_s = 1.0",
            "[asr]", "threads = 1", "retry_base_s = 1.0",
            "[qa]", f'sentiment_model_dir = "{sentiment}"',
            "[ivr]", f"post_call_survey = {'true' if survey else 'false'}",
            *(f"{key} = {value}" for key, value in (ivr or {}).items()),
            "[live]", f"enabled = {'true' if live else 'false'}",
            "[log]", 'level = "info"', ""]), encoding="utf-8")
        share_models(work / "server-state")
        base = {k: v for k, v in os.environ.items() if k in _KEEP_ENV}
        self.env = {**base, "CALLCENTER_AMI_SECRET": ami_secret, "DATABASE_URL": db_url,
                    "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
        common = ["--config", str(self.settings)]
        self.server = Process("serve", [*common, "serve"], self.env, work / "serve.log")
        self.asr = Process("asr", [*common, "worker", "asr"], self.env, work / "worker-asr.log")
        self.qa = Process("qa", [*common, "worker", "qa"], self.env, work / "worker-qa.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def processes(self) -> list[Process]:
        return [self.server, self.asr, self.qa]

    def stop(self) -> None:
        for process in self.processes():
            process.stop()

    async def wait_healthy(self, timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        last: Any = None
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if not self.server.running():
                    raise AssertionError(f"callcenter serve exited:\n{self.server.tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError, json.JSONDecodeError):
                    async with session.get(self.url + "/healthz") as response:
                        last = await response.json(content_type=None)
                        if response.status == 200:
                            return dict(last)
                await asyncio.sleep(0.2)
        raise AssertionError(f"/healthz not 200 within {timeout_s}s: {last}\n{self.server.tail()}")


class Web:
    """A logged-in user of the server's HTTP API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def login(self, login: str, password: str) -> Web:
        async with self.session.post(self.base + "/login", json={"login": login, "password": password},
                                     allow_redirects=False) as response:
            if response.status >= 400:
                raise AssertionError(f"login {login}: {response.status} {await response.text()}")
        me = await self.get("/api/me")
        self.csrf = str(me.get("csrf_token") or me.get("csrf") or "")
        return self

    async def get(self, path: str) -> Any:
        async with self.session.get(self.base + path) as response:
            if response.status != 200:
                raise AssertionError(f"GET {path}: {response.status} {await response.text()}")
            return await response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.post(self.base + path, json=body or {},
                                     headers={"X-CSRF-Token": self.csrf}) as response:
            if response.status >= 300:
                raise AssertionError(f"POST {path}: {response.status} {await response.text()}")
            return await response.json()

    async def ready(self, agent: str) -> None:
        await self.post(f"/api/agents/{agent}/state", {"state": "ready"})

    async def close(self) -> None:
        await self.session.close()
