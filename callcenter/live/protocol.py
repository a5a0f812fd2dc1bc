"""The AudioSocket framing (Asterisk's ``chan_audiosocket``/``app_audiosocket``), as a pure parser.

Every frame is ``kind`` (1 byte), ``length`` (2 bytes, big-endian), then ``length`` bytes:

- ``0x00`` hang-up (no payload), ``0x01`` the stream's UUID (16 bytes, always first),
- ``0x03`` a DTMF digit (1 byte), ``0x10`` audio: 16-bit little-endian signed linear at 8 kHz,
- ``0xff`` an error code from Asterisk.

Anything else (an unknown kind, a UUID that is not 16 bytes or not first, audio before the
UUID, odd-sized audio, a frame longer than ``max_payload``) is a :class:`ProtocolError`: the
receiver closes that stream and counts it, nothing else is affected.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import IntEnum

HEADER = 3
DEFAULT_MAX_PAYLOAD = 3200  # 200 ms of 8 kHz audio; Asterisk sends 20 ms (320 bytes)


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


class ProtocolError(ValueError):
    """The peer broke the framing; ``reason`` is a short, stable label for the metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Frame:
    kind: Kind
    payload: bytes


def encode(kind: Kind, payload: bytes = b"") -> bytes:
    """One frame on the wire (tests and the simulator speak it too)."""
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


def encode_uuid(value: str) -> bytes:
    return encode(Kind.UUID, uuid.UUID(value).bytes)


class FrameReader:
    """Bytes in, frames out; keeps the tail of an incomplete frame for the next call.

    Args:
        max_payload: the longest payload accepted.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self._max = max_payload
        self._buffer = bytearray()
        self.stream_id: str | None = None

    def feed(self, data: bytes) -> list[Frame]:
        """The complete frames in what has arrived so far.

        Raises:
            ProtocolError: the peer broke the framing (see the module's list).
        """
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= HEADER:
            kind_byte, length = self._buffer[0], int.from_bytes(self._buffer[1:3], "big")
            kind = self._kind(kind_byte)
            if length > self._max:
                raise ProtocolError("too_long", f"{length} bytes in one frame (max {self._max})")
            if len(self._buffer) < HEADER + length:
                break
            payload = bytes(self._buffer[HEADER:HEADER + length])
            del self._buffer[:HEADER + length]
            frames.append(self._check(kind, payload))
        return frames

    @staticmethod
    def _kind(value: int) -> Kind:
        try:
            return Kind(value)
        except ValueError:
            raise ProtocolError("unknown_kind", f"frame kind 0x{value:02x}") from None

    def _check(self, kind: Kind, payload: bytes) -> Frame:
        if kind is Kind.UUID:
            if self.stream_id is not None:
                raise ProtocolError("second_uuid", "the stream already has its UUID")
            if len(payload) != 16:
                raise ProtocolError("bad_uuid", f"{len(payload)}-byte UUID")
            self.stream_id = str(uuid.UUID(bytes=payload))
        elif self.stream_id is None and kind is not Kind.HANGUP:
            raise ProtocolError("no_uuid", f"{kind.name} frame before the UUID")
        elif kind is Kind.AUDIO and len(payload) % 2:
            raise ProtocolError("odd_audio", f"{len(payload)} bytes of 16-bit audio")
        elif kind is Kind.DTMF and len(payload) != 1:
            raise ProtocolError("bad_dtmf", f"{len(payload)}-byte DTMF frame")
        return Frame(kind, payload)
