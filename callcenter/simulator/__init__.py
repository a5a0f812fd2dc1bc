"""An AMI-speaking PBX simulator, faithful to real Asterisk 22 captures.

Asterisk cannot be installed everywhere the product runs (demo, tests, load runs), so this
package plays Asterisk: an asyncio TCP server speaking AMI the way Asterisk 22.11 does for
everything the product uses, with scripted callers and agents on a simulated clock. Ground truth
is ``shared/asterisk-lab`` (the transcripts and ``etc/*.conf``); the fidelity tests replay each
capture's client actions against the simulator and compare the event sequences per channel.

Public API::

    from callcenter.simulator import PbxSimulator, SimulatorConfig, load_scenario

    sim = PbxSimulator(SimulatorConfig(port=0, secret="s3cret", time_scale=10,
                                       sound_dirs=(Path("/usr/share/asterisk/sounds"),),
                                       recording_dir=Path("state/recordings")))
    port = await sim.start()                 # bound port (port 0 picks a free one)
    scenario = sim.load_scenario("callcenter/simulator/scenarios/example.yaml")
    await sim.run_scenario(scenario)         # places the callers, returns when all calls ended
    channel = sim.place_call(scenario.callers[0])   # or one call now: its [inbound] channel
    sim.channels(); sim.bridges(); sim.recordings()  # inspection for tests
    await sim.sleep(5.0)                     # five simulated seconds
    await sim.stop()

- :class:`SimulatorConfig` (host, port, username, secret, sound_dirs, time_scale,
  recording_dir, caller_channel_style ``pjsip``|``local``, trunk, seed); :func:`load_config`
  reads it from TOML/YAML.
- :class:`PbxSimulator`: ``start()``, ``stop()``, ``load_scenario(path)``,
  ``run_scenario(scenario)``, ``place_call(caller)``, ``set_registered(endpoint, bool)``,
  ``channels()``, ``bridges()``, ``recordings()``, ``now()``, ``sleep()``, ``wait_idle()``.
- Scenarios (:mod:`.scenario`): :class:`Scenario`, :class:`CallerScript`,
  :class:`AgentScript`, :class:`Behaviour`; :func:`load_scenario` validates a YAML file and names
  the bad field in :class:`ScenarioError`.
- Standalone: ``python -m callcenter.simulator --config sim.toml --scenario scenario.yaml``.

What it speaks: banner, Login (a wrong secret gets ``Authentication failed`` and the connection
closes), FullyBooted, Ping, Logoff, Originate (``Async: true`` only; ``PJSIP/…`` and
``Local/…[/n]``; Application+Data or Context+Exten+Priority; Timeout; CallerID; Variable),
OriginateResponse reasons 0/1/3/4/5, AGI with AsyncAGIStart/Exec/End (ANSWER, STREAM FILE,
GET DATA, WAIT FOR DIGIT, SAY DIGITS, EXEC MusicOnHold/Playback/Wait/Answer, HANGUP,
ASYNCAGI BREAK, NOOP, VERBOSE, SET/GET VARIABLE), Bridge (application and action), Redirect,
Hangup, MixMonitor/StopMixMonitor/MixMonitorMute (real 8 kHz WAV files), CoreShowChannels,
Status, BridgeList, Getvar/Setvar, BlindTransfer, Atxfer into ``[cc-consult]`` with the
features codes ``*1``/``*2``/``*3`` played by PlayDTMF (:mod:`.atxfer`; compared with the real
PBX's captures in ``tests/control/test_consult_through_simulator.py``), and the channel, dial,
bridge, DTMF, device and registration events around them, with the captures' header sets and
order.

Time: every delay runs on the simulated clock (``time_scale`` simulated seconds per real
second); prompts last as long as their sound files; recordings are rendered from simulated time,
so they hold the right amount of audio at any time scale.
"""

from callcenter.simulator.config import ConfigError, SimulatorConfig, load_config
from callcenter.simulator.recorder import RecordingInfo
from callcenter.simulator.scenario import (
    AgentScript,
    Arrival,
    Behaviour,
    CallerScript,
    Press,
    Scenario,
    ScenarioError,
    Speech,
    Survey,
    load_scenario,
)
from callcenter.simulator.server import BridgeInfo, ChannelInfo, PbxSimulator

__all__ = [
    "AgentScript", "Arrival", "Behaviour", "BridgeInfo", "CallerScript", "ChannelInfo",
    "ConfigError", "PbxSimulator", "Press", "RecordingInfo", "Scenario", "ScenarioError",
    "SimulatorConfig", "Speech", "Survey", "load_config", "load_scenario",
]
