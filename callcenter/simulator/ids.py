"""Identifiers shaped like Asterisk's: ``<epoch>.<n>`` Uniqueids, ``-%08x`` channel suffixes."""

from __future__ import annotations

import itertools
import random
import uuid

from callcenter.simulator.clock import Clock, epoch


class Ids:
    """One counter per kind, increasing for the life of the simulator, as in Asterisk."""

    def __init__(self, clock: Clock, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._uniqueids = itertools.count()
        self._suffixes = itertools.count()

    def uniqueid(self) -> str:
        return f"{int(epoch(self._clock))}.{next(self._uniqueids)}"

    def channel_suffix(self) -> str:
        return f"{next(self._suffixes):08x}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def agi_command_id(self) -> str:
        """Asterisk's own id of an AGI command (``AGIExecStart``), not the client's CommandID."""
        return str(self._rng.randint(10_000_000, 2_147_483_647))

    def thread_id(self) -> str:
        return str(self._rng.randint(139_000_000_000_000, 140_999_999_999_999))
