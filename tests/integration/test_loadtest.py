"""callcenter loadtest: the simulator in its own process, the server here, nothing lost."""

from __future__ import annotations

from pathlib import Path

from callcenter.demo.loadtest import percentile, run_loadtest, scenario_yaml
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings

REPO = Path(__file__).resolve().parents[2]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 99) == 0.0
    assert percentile([5.0], 50) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_scenario_places_every_call_inside_the_window() -> None:
    audio = {"customer-refund-en": Path("/a.wav"), "agent-greet-en": Path("/b.wav")}
    scenario = scenario_yaml(50, 10, window_s=120.0, offset_s=30.0, audio=audio)
    arrivals = [c["arrival"]["at_s"][0] for c in scenario["callers"]]
    assert len(arrivals) == 50 and all(30.0 <= a <= 150.0 for a in arrivals)
    assert len(scenario["agents"]) == 10


async def test_small_load_run_loses_no_call_and_reports_every_number(db_url: str, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    result = await run_loadtest(settings, calls=12, agents=6, speed=25.0, window_s=90.0)
    assert result["lost"] == 0 and result["stuck_agents"] == 0
    assert result["calls_offered"] == 12
    assert result["answered"] + result["abandoned"] + result["failed"] + result["ivr_only"] == 12
    assert result["answered"] > 0
    latency = result["route_latency_ms"]
    assert set(latency) == {"p50", "p95", "p99", "max"} and all(v >= 0 for v in latency.values())
    assert result["server_peak_rss_mb"] > 0 and result["wall_seconds"] > 0
