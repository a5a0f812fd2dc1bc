"""The order test modules run in: the longest first.

``scripts/test`` runs the suite on several pytest-xdist workers, one whole module at a time
(``--dist loadfile``: a module's fixtures, such as a real-PBX rig or the demo, are built once),
handing out modules in collection order (``--no-loadscope-reorder``). The real-PBX modules spend
most of their time waiting for calls in real time and the browser modules for pages, so they go
first: their waits overlap with the CPU-bound modules the other workers take meanwhile, and no
long module is left to run alone at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SLOW_FOLDERS = ("pbx", "browser")  # in this order, before everything else


def _rank(item: pytest.Item) -> int:
    path = Path(str(item.path))
    try:
        top = path.relative_to(TESTS).parts[0]
    except ValueError:
        return len(SLOW_FOLDERS) + 1
    if top in SLOW_FOLDERS:
        return SLOW_FOLDERS.index(top)
    if "browser" in path.stem:
        return len(SLOW_FOLDERS)
    return len(SLOW_FOLDERS) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: modules stay whole, each in its own order
