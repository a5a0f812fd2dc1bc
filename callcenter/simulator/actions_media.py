"""AMI actions about recordings, variables and the list actions used to resync."""

from __future__ import annotations

from typing import TYPE_CHECKING

import callcenter.simulator.frames as frames
import callcenter.simulator.lists as lists
from callcenter.ami.parser import Frame
from callcenter.simulator.recorder import FLUSH_S, parse_options
from callcenter.simulator.replies import Handler, Reply, SessionState, err, ok

if TYPE_CHECKING:
    from callcenter.simulator.model import Channel
    from callcenter.simulator.ports import Pbx


def _channel(pbx: Pbx, frame: Frame) -> tuple[Channel | None, str]:
    name = frame.get("Channel").strip()
    if not name:
        return None, "No channel specified"
    ch = pbx.find(name)
    if ch is None or not ch.alive:
        return None, "No such channel"
    return ch, ""


def mix_monitor(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    ch, problem = _channel(pbx, frame)
    if ch is None:
        return err(aid, problem)
    file, options = frame.get("File").strip(), frame.get("Options").strip()
    if not file and not parse_options(options):
        return err(aid, "No file specified")

    def start() -> None:
        monitor = pbx.recorders.start(ch.name, file, options, pbx.clock.now())
        pbx.set_var(ch, "MIXMONITOR_FILENAME", file or str(monitor.read_file or monitor.write_file))
        pbx.channel_event(ch, "MixMonitorStart")
        if not pbx.recorders.growing:
            pbx.recorders.growing = True
            pbx.clock.call_later(FLUSH_S, lambda: _grow(pbx))

    return ok(aid, None, start)


def _grow(pbx: Pbx) -> None:
    """The recordings' files grow as Asterisk's do, every ``FLUSH_S`` while any is active."""
    if pbx.recorders.flush(pbx.clock.now()):
        pbx.clock.call_later(FLUSH_S, lambda: _grow(pbx))
    else:
        pbx.recorders.growing = False


def stop_mix_monitor(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    ch, problem = _channel(pbx, frame)
    if ch is None:
        return err(aid, problem)
    if not pbx.recorders.active(ch.name):
        return err(aid, "Could not stop specified MixMonitor")

    def stop() -> None:
        pbx.recorders.stop(ch.name, pbx.clock.now(), pbx.clock.call_later)
        pbx.channel_event(ch, "MixMonitorStop")

    return ok(aid, None, stop)


def mix_monitor_mute(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    ch, problem = _channel(pbx, frame)
    direction, state_text = frame.get("Direction").strip().lower(), frame.get("State").strip()
    if not direction:
        return err(aid, "No direction specified. Must be read, write or both")
    if direction not in ("read", "write", "both"):
        return err(aid, "Invalid direction specified. Must be read, write or both")
    if not state_text:
        return err(aid, "No state specified")
    if ch is None:
        return err(aid, problem)
    monitors = pbx.recorders.active(ch.name)
    if not monitors:
        return err(aid, "Cannot set mute flag")
    muted = state_text.lower() in ("1", "true", "yes", "on")

    def mute() -> None:
        for monitor in monitors:
            monitor.mute(direction, muted, pbx.clock.now())
        pbx.channel_event(ch, "MixMonitorMute", ("Direction", direction),
                          ("State", "1" if muted else "0"))

    return ok(aid, None, mute)


def getvar(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    """A channel variable, or a global one when no Channel is given."""
    variable = frame.get("Variable").strip()
    if not variable:
        return err(aid, "No variable specified")
    values = pbx.globals
    if frame.get("Channel").strip():
        ch, problem = _channel(pbx, frame)
        if ch is None:
            return err(aid, problem)
        values = ch.variables
    return Reply([frames.response(aid, "Success", ("Variable", variable),
                                  ("Value", values.get(variable, "")))])


def setvar(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    """Set a channel variable (VarSet event), or a global one when no Channel is given."""
    variable = frame.get("Variable").strip()
    if not variable:
        return err(aid, "No variable specified")
    value = frame.get("Value")
    if not frame.get("Channel").strip():
        pbx.globals[variable] = value
        return ok(aid, "Variable Set")
    ch, problem = _channel(pbx, frame)
    if ch is None:
        return err(aid, problem)
    return ok(aid, "Variable Set", lambda: pbx.set_var(ch, variable, value))


def core_show_channels(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    return Reply(lists.core_show_channels(pbx, aid))


def status(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    answer = lists.status(pbx, aid, frame.get("Channel").strip())
    return err(aid, "No such channel") if answer is None else Reply(answer)


def bridge_list(pbx: Pbx, state: SessionState, frame: Frame, aid: str | None) -> Reply:
    return Reply(lists.bridge_list(pbx, aid))


MEDIA_HANDLERS: dict[str, Handler] = {
    "mixmonitor": mix_monitor, "stopmixmonitor": stop_mix_monitor,
    "mixmonitormute": mix_monitor_mute, "getvar": getvar, "setvar": setvar,
    "coreshowchannels": core_show_channels, "status": status, "bridgelist": bridge_list,
}
