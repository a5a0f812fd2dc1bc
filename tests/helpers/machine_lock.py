"""One process at a time on this machine: several test runs, or the pytest-xdist workers of one
run, may set up the same machine-wide thing at once (unpack the Asterisk bundle into its cache,
create the embedded PostgreSQL's system user); they take turns instead of racing."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Held (blocking) on ``$TMPDIR/callcenter-<name>.lock`` for the ``with`` block."""
    folder = Path(os.environ.get("TMPDIR") or tempfile.gettempdir())
    with open(folder / f"callcenter-{name}.lock", "wb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
