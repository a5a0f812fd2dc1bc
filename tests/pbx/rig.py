"""Everything one real-PBX test module runs: Asterisk on the overlaid ``asterisk-conf/``, the
AMI recorder between it and the server, ``callcenter serve`` with its ASR and QA workers on a
fresh database, the test's own AMI link, and the SIP phones the tests start.

Ports: one slot of :mod:`tests.pbx.slots` per rig (no other suite uses them, and several runs
of this suite on one machine take different slots); HTTP and the AMI recorder on free
ephemeral ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import sys
import time
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import yaml

from callcenter.demo.seed import seed_shop
from callcenter.demo.setup import prepare_config
from callcenter.store.migrate import migrate
from tests.helpers.sentiment import sentiment_model
from tests.integration.conftest import run_in_thread
from tests.pbx.amiclient import TestAmi
from tests.pbx.amiproxy import AmiRecorder
from tests.pbx.bundle import REPO, Bundle
from tests.pbx.overlay import OverlaySpec
from tests.pbx.pbx import Pbx
from tests.pbx.phones import Phone, agent_group, agent_phone, caller_phone
from tests.pbx.server import Deployment, Web
from tests.pbx.slots import Ports, release, take_slot

PASSWORD = "pbx-test-pw"
LAB_RECORDINGS = REPO.parent / "shared" / "asterisk-lab" / "recordings"
CAPTURES = REPO / "tests" / "data" / "pbx-captures"


@dataclass(frozen=True)
class Agent:
    login: str
    extension: str
    skills: dict[str, int]
    languages: tuple[str, ...] = ("en",)

    def yaml(self) -> dict[str, Any]:
        return {"login": self.login, "name": self.login.title(), "dial_string": f"PJSIP/{self.extension}",
                "languages": list(self.languages), "skills": dict(self.skills)}


@dataclass
class Rig:
    bundle: Bundle
    work: Path
    pbx: Pbx
    recorder: AmiRecorder
    deployment: Deployment
    db_url: str
    agents: dict[str, Agent]
    ports: Ports
    phones: list[Phone] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sip_ports = itertools.count(self.ports.agent_sip)
        self._rtp_ports = itertools.count(self.ports.agent_rtp, 8)
        self._caller_sip = itertools.count(self.ports.caller_sip)
        self._caller_rtp = itertools.count(self.ports.caller_rtp, 8)

    # --- phones -------------------------------------------------------------------------------
    def agent_phone(self, login: str, mode: str = "answer", **kwargs: Any) -> Phone:
        agent = self.agents[login]
        phone = agent_phone(self.bundle, self.work, agent.extension, self.pbx.spec.password(agent.extension),
                            sip_port=next(self._sip_ports), pbx_sip_port=self.pbx.spec.sip_port,
                            rtp_port=next(self._rtp_ports), mode=mode, **kwargs).start()
        self.phones.append(phone)
        return phone

    def agent_group(self, name: str, logins: list[str], **kwargs: Any) -> Phone:
        accounts = [(self.agents[a].extension, self.pbx.spec.password(self.agents[a].extension))
                    for a in logins]
        phone = agent_group(self.bundle, self.work, name, accounts, sip_port=next(self._sip_ports),
                            pbx_sip_port=self.pbx.spec.sip_port, rtp_port=next(self._rtp_ports),
                            **kwargs).start()
        self.phones.append(phone)
        return phone

    def caller(self, number: str, **kwargs: Any) -> Phone:
        phone = caller_phone(self.bundle, self.work, number, sip_port=next(self._caller_sip),
                             rtp_port=next(self._caller_rtp), pbx_sip_port=self.pbx.spec.sip_port,
                             **kwargs).start()
        self.phones.append(phone)
        return phone

    def stop_phones(self) -> None:
        for phone in self.phones:
            with contextlib.suppress(Exception):
                phone.stop()
        self.phones.clear()

    # --- the server's side ---------------------------------------------------------------------
    async def web(self, login: str) -> Web:
        return await Web(self.deployment.url).login(login, PASSWORD)

    async def ami(self) -> TestAmi:
        return await TestAmi(self.pbx.spec.ami_port, self.pbx.spec.test_ami_secret).connect()

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.db_url)

    async def ready(self, *logins: str) -> None:
        supervisor = await self.web("supervisor")
        try:
            for login in logins:
                await supervisor.ready(login)
        finally:
            await supervisor.close()

    async def offline(self, *logins: str) -> None:
        supervisor = await self.web("supervisor")
        try:
            for login in logins:
                with contextlib.suppress(AssertionError):
                    await supervisor.post(f"/api/agents/{login}/state", {"state": "offline"})
        finally:
            await supervisor.close()

    async def agents_json(self) -> dict[str, dict[str, Any]]:
        supervisor = await self.web("supervisor")
        try:
            listing = await supervisor.get("/api/agents")
        finally:
            await supervisor.close()
        return {a["agent_id"] if "agent_id" in a else a["login"]: a for a in listing["agents"]}

    async def wait_registered(self, extension: str, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while f"{extension}/sip:" not in self.pbx.cli("pjsip show contacts"):
            if time.monotonic() > deadline:
                raise AssertionError(f"{extension} did not register: {self.pbx.cli('pjsip show contacts')}")
            await asyncio.sleep(0.2)

    async def wait_heartbeat(self, ami: TestAmi, since: float, timeout_s: float = 30.0) -> None:
        """Until the server's IVR heartbeat (the dialplan's CC_IVR_HEARTBEAT) is fresh."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = await ami.getvar("CC_IVR_HEARTBEAT")
            if value.isdigit() and int(value) >= int(since):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no IVR heartbeat since {since}: {value!r}\n"
                                     f"{self.deployment.server.tail()}")
            await asyncio.sleep(0.25)

    async def call_row(self, linkedid: str, ended: bool = True, timeout_s: float = 30.0) -> dict[str, Any]:
        """The stored call (once ended, with ``ended``)."""
        conn = await self.db()
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                row = await conn.fetchrow("SELECT * FROM calls WHERE linkedid = $1", linkedid)
                if row is not None and (row["state"] == "ended" or not ended):
                    return dict(row)
                if time.monotonic() > deadline:
                    raise AssertionError(f"call {linkedid} not stored as ended: {row and dict(row)}")
                await asyncio.sleep(0.3)
        finally:
            await conn.close()

    async def agent_state(self, login: str) -> dict[str, Any]:
        return (await self.agents_json())[login]

    def capture(self, name: str, since: float) -> Path:
        """Save the server's AMI stream since ``since`` as NAME.jsonl: in the test's folder, or in
        ``tests/data/pbx-captures/`` (the committed captures) with CALLCENTER_RECORD_CAPTURES=1."""
        folder = CAPTURES if os.environ.get("CALLCENTER_RECORD_CAPTURES") == "1" else self.work / "captures"
        path = folder / f"{name}.jsonl"
        self.recorder.capture(path, since)
        return path


def make_config(work: Path, agents: list[Agent], ring_timeout_s: int | None = None,
                wrap_up_s: int | None = None) -> Path:
    """The shipped config/ (business hours around the clock, as the demo runs it), the test's
    agents, and optionally a shorter ring timeout (a routing-policy choice) to keep calls short."""
    config = prepare_config(REPO / "config", work / "config")
    policy = yaml.safe_load((config / "routing.yaml").read_text(encoding="utf-8"))
    if ring_timeout_s is not None:
        policy["defaults"]["ring_timeout_s"] = ring_timeout_s
    if wrap_up_s is not None:
        policy["defaults"]["wrap_up_s"] = wrap_up_s
        for skill in policy["skills"].values():
            skill.pop("wrap_up_s", None)
    if ring_timeout_s is not None or wrap_up_s is not None:
        (config / "routing.yaml").write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    (config / "agents.yaml").write_text(yaml.safe_dump({"agents": [a.yaml() for a in agents]}),
                                        encoding="utf-8")
    return config


async def prepare_database(db_url: str) -> None:
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
    try:
        await migrate(pool)
        await seed_shop(pool)
    finally:
        await pool.close()


async def create_users(deployment: Deployment, agents: list[Agent]) -> None:
    """As a deployer does: the first admin with ``callcenter users add``, the others through
    ``/api/users`` as that admin."""
    secret = deployment.work / "admin-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "users", "add", "admin", "--role", "admin", "--name", "Admin",
        "--password-file", str(secret), "--config", str(deployment.settings), env=deployment.env,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise AssertionError(f"callcenter users add failed: {output.decode(errors='replace')}")
    admin = await Web(deployment.url).login("admin", PASSWORD)
    try:
        await admin.post("/api/users", {"login": "supervisor", "display_name": "Supervisor",
                                        "role": "supervisor", "password": PASSWORD})
        for agent in agents:
            await admin.post("/api/users", {"login": agent.login, "display_name": agent.login.title(),
                                            "role": "agent", "password": PASSWORD, "agent": agent.login})
    finally:
        await admin.close()


@contextlib.contextmanager
def running_rig(bundle: Bundle, work: Path, db_url: str, agents: list[Agent],
                spec: OverlaySpec | None = None, ring_timeout_s: int | None = None,
                wrap_up_s: int | None = None, survey: bool = True, workers: bool = False,
                live: bool = False, ivr: Mapping[str, float] | None = None, ami_proxy: bool = True
                ) -> Iterator[Rig]:
    """Start everything (the ASR and QA workers with ``workers``); stop everything on the way
    out, whatever happened. ``ivr``: more ``[ivr]`` settings of the server. ``ami_proxy``:
    the server's AMI link goes through the recorder (captures, cut links, delays); without it
    the server connects to Asterisk as a deployment does (benchmarks: the proxy is a hop of
    its own in each direction, in the test's process)."""
    ports = take_slot()
    spec = dataclasses.replace(spec or OverlaySpec(), agents=tuple(a.extension for a in agents),
                               ami_port=ports.ami, sip_port=ports.sip, rtp_start=ports.rtp[0],
                               rtp_end=ports.rtp[1])
    pbx = Pbx(bundle, work / "pbx", spec)
    recorder = AmiRecorder(spec.ami_port)
    deployment: Deployment | None = None
    rig: Rig | None = None
    try:
        pbx.start()
        if ami_proxy:
            recorder.start()
        run_in_thread(lambda: prepare_database(db_url))
        deployment = Deployment(work, config_dir=make_config(work, agents, ring_timeout_s, wrap_up_s), db_url=db_url,
                                ami_port=recorder.port if ami_proxy else spec.ami_port, ami_secret=spec.ami_secret,
                                monitor_dir=pbx.monitor_dir, sentiment=sentiment_model(work / "sentiment")[0],
                                survey=survey, live=live, ivr=ivr)
        rig = Rig(bundle, work, pbx, recorder, deployment, db_url, {a.login: a for a in agents}, ports)
        started = time.time()
        deployment.server.start()

        async def ready() -> None:
            assert deployment is not None and rig is not None
            await deployment.wait_healthy()
            ami = await rig.ami()
            try:
                await rig.wait_heartbeat(ami, started)
            finally:
                await ami.close()
            await create_users(deployment, agents)

        run_in_thread(ready)
        if workers:
            deployment.asr.start()
            deployment.qa.start()
        yield rig
    finally:
        if rig is not None:
            rig.stop_phones()
        if deployment is not None:
            deployment.stop()
        if ami_proxy:
            recorder.stop()
        pbx.stop()
        release(ports)


# --- audio checks ----------------------------------------------------------------------------
def wav_rms(path: Path, start_s: float = 0.0, end_s: float | None = None) -> float:
    """Root-mean-square level of a 16-bit mono WAV between two instants."""
    import array
    import math

    with wave.open(str(path)) as w:
        rate = w.getframerate()
        w.setpos(min(w.getnframes(), int(start_s * rate)))
        count = (w.getnframes() if end_s is None else int(end_s * rate)) - int(start_s * rate)
        samples = array.array("h", w.readframes(max(0, count)))
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def quiet_span(path: Path, below: float = 30.0, frame_s: float = 0.1) -> tuple[float, float]:
    """The longest run of ``frame_s`` frames of a 16-bit mono WAV whose RMS level is under
    ``below``, as (start, end) in seconds: where a muted or silent stretch is, read from the
    audio itself rather than from when the test saw the events that caused it."""
    import numpy as np

    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    size = max(1, int(rate * frame_s))
    count = samples.size // size
    levels = np.sqrt((samples[:count * size].reshape(count, size) ** 2).mean(axis=1))
    best, run_from = (0, 0), None
    for n, quiet in enumerate([*(levels < below), False]):
        if quiet and run_from is None:
            run_from = n
        elif not quiet and run_from is not None:
            if n - run_from > best[1] - best[0]:
                best = (run_from, n)
            run_from = None
    return best[0] * frame_s, best[1] * frame_s


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        frames: int = w.getnframes()
        rate: int = w.getframerate()
    return frames / rate
