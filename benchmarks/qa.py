"""Sentiment throughput: the QA pipeline against the bare encoder on the same utterances.

    python benchmarks/qa.py [--model DIR] [--repeat 4]

- bare: the all-MiniLM-L6-v2 encoder alone (``AutoModel`` forward) on pre-tokenized batches of
  32 — the floor any classifier built on it pays;
- pipeline: ``SentimentModel.predict`` end to end (tokenize, encoder + classification head,
  softmax, label mapping), batches of 32.
Both run on the held-out utterances of the project's dataset (repeated), in one run.

Prints JSON: {"utterances", "bare_encoder_per_s", "pipeline_per_s", "ratio"}. Goal: ratio >= 0.8.
Without --model the default model is built first into a temporary directory (about a minute).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa import dataset
from qa.build import build_model, encoder_dir
from qa.sentiment import SentimentModel, quiet_transformers

BATCH = 32


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    import torch
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    model_dir = args.model
    if model_dir is None:
        model_dir = Path(tempfile.mkdtemp(prefix="cc-sentiment-")) / "model"
        build_model(model_dir)
    _, held_out = dataset.split(dataset.load())
    texts = [e.text for e in held_out] * args.repeat

    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir()), local_files_only=True)
    encoder = AutoModel.from_pretrained(str(encoder_dir()), local_files_only=True).eval()
    batches = [tokenizer(texts[i:i + BATCH], padding=True, truncation=True, max_length=128, return_tensors="pt")
               for i in range(0, len(texts), BATCH)]
    pipeline = SentimentModel.load(model_dir, batch_size=BATCH)

    def bare() -> None:
        with torch.inference_mode():
            for batch in batches:
                encoder(**batch)

    def full() -> None:
        pipeline.predict(texts)

    bare()  # warm up
    full()
    timings: dict[str, list[float]] = {"bare": [], "full": []}
    for _ in range(3):  # interleaved, best of three: the machine's noise hits both alike
        for name, run in (("bare", bare), ("full", full)):
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    bare_rate = len(texts) / min(timings["bare"])
    full_rate = len(texts) / min(timings["full"])
    print(json.dumps({"utterances": len(texts), "bare_encoder_per_s": round(bare_rate, 1),
                      "pipeline_per_s": round(full_rate, 1), "ratio": round(full_rate / bare_rate, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
