"""The live segmenter's cost on the server's event loop, per second of one speaker's stream.

Asterisk's AudioSocket sends one 20 ms frame (320 bytes) at a time; the receiver parses each
frame and feeds its audio to the speaker's segmenter. This replays the lab's real customer track
(repeated to ``--seconds``) frame by frame, as the receiver gets it, and measures in one run:

- parse: the AudioSocket framing alone (the floor: what every stream costs anyway);
- segment: framing plus the segmenter (levels, spectra, noise floor, utterance cuts).

Each side runs three times; the best run counts. Prints ``{"stream_s", "utterances",
"parse_ms_per_stream_s", "segment_ms_per_stream_s", "ratio"}`` (ratio: segment / parse).
Usage: ``python benchmarks/live_segmenter.py [--seconds 300]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callcenter.live.protocol import FrameReader, Kind, encode, encode_uuid  # noqa: E402
from callcenter.live.vad import FRAME, RATE, Segmenter  # noqa: E402

LAB = Path(os.environ.get("CALLCENTER_ASTERISK_LAB", ROOT.parent / "shared" / "asterisk-lab"))
TRACK = LAB / "recordings" / "sip-call-customer.wav"


def frames(seconds: float) -> list[bytes]:
    """The lab track, repeated to ``seconds``, as AudioSocket audio frames of 20 ms."""
    with wave.open(str(TRACK)) as w:
        pcm = w.readframes(w.getnframes())
    needed = int(seconds * RATE) * 2
    stream = (pcm * (needed // len(pcm) + 1))[:needed]
    size = FRAME * 2
    return [encode(Kind.AUDIO, stream[i:i + size]) for i in range(0, len(stream) - size + 1, size)]


def run(wire: list[bytes], segment: bool) -> tuple[float, int]:
    reader = FrameReader()
    reader.feed(encode_uuid(str(uuid.uuid4())))
    segmenter = Segmenter()
    utterances = 0
    started = time.perf_counter()
    for data in wire:
        for frame in reader.feed(data):
            if segment:
                utterances += len(segmenter.feed(frame.payload))
    if segment:
        utterances += len(segmenter.flush())
    return time.perf_counter() - started, utterances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    wire = frames(args.seconds)
    stream_s = len(wire) * FRAME / RATE
    parse = min(run(wire, segment=False)[0] for _ in range(3))
    timed = [run(wire, segment=True) for _ in range(3)]
    segment = min(t for t, _ in timed)
    print(json.dumps({"stream_s": round(stream_s, 1), "utterances": timed[0][1],
                      "parse_ms_per_stream_s": round(1000 * parse / stream_s, 3),
                      "segment_ms_per_stream_s": round(1000 * segment / stream_s, 3),
                      "ratio": round(segment / parse, 2)}))


if __name__ == "__main__":
    main()
