"""A whole server against an in-process PBX simulator and a real database, with as many
agents as a fault test needs, so the test can break things between them."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from callcenter.clock import clock_for
from callcenter.demo.data import generate, phone_for
from callcenter.demo.loadtest import agents_yaml
from callcenter.demo.run import REPO, STOCK_SOUNDS
from callcenter.demo.seed import seed_shop
from callcenter.demo.setup import MENU_AT_S, prepare_config
from callcenter.server.build import build_server
from callcenter.server.resync import Server
from callcenter.settings import (
    AmiSettings,
    DatabaseSettings,
    HttpSettings,
    RecordingSettings,
    Secret,
    Settings,
)
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press
from callcenter.simulator.config import SimulatorConfig
from callcenter.simulator.server import PbxSimulator
from callcenter.store.db import Database, open_database
from callcenter.store.migrate import migrate
from tests.helpers.polling import wait_until


@dataclass
class Rig:
    simulator: PbxSimulator
    database: Database
    settings: Settings
    speed: float
    recordings: Path

    def server(self) -> contextlib.AbstractAsyncContextManager[Server]:
        return build_server(self.settings, self.database, clock_for(self.speed))

    def callers_hang_up(self) -> int:
        """Every caller still on the line hangs up now (a test that has checked its calls
        need not wait for their talk to run out); returns how many did."""
        pbx = self.simulator.pbx
        callers = [ch for ch in list(pbx.channels.values())
                   if ch.name.startswith(f"PJSIP/{self.simulator.config.trunk}-") and ch.alive]
        for ch in callers:
            pbx.hangups.remote_hangup(ch)
        return len(callers)


def refund_callers(count: int, spread_s: float, patience_s: float = 900.0, first: int = 1
                   ) -> tuple[CallerScript, ...]:
    """``count`` standard-tier demo customers from number ``first`` on who choose refunds (2, 2)
    and wait (VIPs are routed to their own team).
    Tests sharing a database use different ``first``: a repeat caller's IVR differs."""
    customers = generate().customers
    standard = [i for i in range(first, len(customers) + 1) if customers[i - 1][4] == "standard"]
    callers = []
    for n, index in enumerate(standard[:count]):
        language = customers[index - 1][5]
        at = MENU_AT_S.get(language, 4.5)
        callers.append(CallerScript(
            number=phone_for(index), name=f"Caller {index}", language=language,
            arrival=Arrival(at_s=(0.5 + spread_s * n / max(1, count - 1),)),
            behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")), patience_s=patience_s)))
    return tuple(callers)


def agent_phones(count: int, talk_s: float) -> tuple[AgentScript, ...]:
    return tuple(AgentScript(extension=str(5000 + n),
                             behaviour=Behaviour(answer_after_s=1.0, hangup_after_s=talk_s))
                 for n in range(count))


@contextlib.asynccontextmanager
async def rig(db_url: str, work: Path, agents: int, speed: float) -> AsyncIterator[Rig]:
    config = prepare_config(REPO / "config", work / "config")
    team = agents_yaml(agents)
    for agent in team["agents"]:  # the callers here all want refunds
        agent["skills"]["refunds"] = 3
    (config / "agents.yaml").write_text(yaml.safe_dump(team), encoding="utf-8")
    recordings = (work / "recordings").resolve()
    recordings.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(12)
    simulator = PbxSimulator(SimulatorConfig(
        host="127.0.0.1", port=0, secret=secret, time_scale=speed,
        sound_dirs=(REPO / "asterisk-conf" / "sounds", *STOCK_SOUNDS), recording_dir=recordings))
    port = await simulator.start()
    database = await open_database(DatabaseSettings(url=Secret(db_url), pool_max=8), work)
    try:
        await migrate(database.pool)
        await seed_shop(database.pool)
        settings = Settings(
            state_dir=work / "state", config_dir=config,
            database=DatabaseSettings(url=Secret(db_url)),
            ami=dataclasses.replace(AmiSettings(), port=port, secret=Secret(secret),
                                    reconnect_min_s=0.2, reconnect_max_s=1.0,
                                    # the product's 5 s ping timeout: the simulator shares this
                                    # process's loop, and a Pong late under load dropped the link
                                    ping_interval_s=2.0, ping_timeout_s=5.0),
            http=HttpSettings(port=0),
            recording=RecordingSettings(local_dir=str(recordings), grace_s=0.5))
        yield Rig(simulator, database, settings, speed, recordings)
    finally:
        await simulator.stop()
        await database.close()


async def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str,
                   detail: Callable[[], object] | None = None) -> None:
    await wait_until(predicate, what=what, timeout_s=timeout_s, detail=detail)


def settings_toml(settings: Settings) -> str:
    """The parts of ``settings`` a server in another process needs, as a settings file."""
    ami, rec = settings.ami, settings.recording
    return "\n".join([
        f'state_dir = "{settings.state_dir}"', f'config_dir = "{settings.config_dir}"',
        "[ami]", f'host = "{ami.host}"', f"port = {ami.port}", f'secret = "{ami.secret.reveal()}"',
        f"reconnect_min_s = {ami.reconnect_min_s}", f"reconnect_max_s = {ami.reconnect_max_s}",
        "[database]", f'url = "{settings.database.url.reveal()}"',
        "[http]", "port = 0",
        "[recording]", f'local_dir = "{rec.local_dir}"', f"grace_s = {rec.grace_s}", ""])
