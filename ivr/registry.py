"""Loaded flows, reloaded without a restart.

:meth:`FlowRegistry.reload` re-reads the flow files whose modification time or size changed,
validates them, and swaps in each flow that has no errors; a broken edit is refused and logged,
and the previous version keeps serving. :meth:`FlowRegistry.watch` does that every few seconds.
A call holds the :class:`~ivr.model.Flow` object it started with, so it finishes on that version
whatever is reloaded meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from callcenter.runtime.periodic import periodic
from ivr.errors import Problem, UnknownFlow
from ivr.loader import load_flow_file, read_yaml
from ivr.model import Flow
from ivr.validate import Checks, validate_loaded

log = structlog.get_logger("ivr.registry")


@dataclass(slots=True)
class ReloadReport:
    loaded: list[str] = field(default_factory=list)  # "id@version" swapped in
    refused: dict[str, list[Problem]] = field(default_factory=dict)  # path -> errors
    removed: list[str] = field(default_factory=list)  # files gone (their flows keep serving)

    @property
    def changed(self) -> bool:
        return bool(self.loaded or self.refused or self.removed)


class FlowRegistry:
    """Flows by id, from flow files and folders of ``*.yaml`` (prompt catalogues are skipped).

    Args:
        sources: files and/or folders.
        checks: what each flow is validated against before it goes live.
    """

    def __init__(self, sources: Sequence[Path], checks: Checks | None = None) -> None:
        self._sources = [Path(s) for s in sources]
        self._checks = checks or Checks()
        self._flows: dict[str, Flow] = {}
        self._seen: dict[Path, tuple[int, int]] = {}
        self._owner: dict[str, Path] = {}
        self.reloads = 0

    def get(self, flow_id: str) -> Flow:
        """The current version of a flow.

        Raises:
            UnknownFlow: no valid flow with this id was loaded.
        """
        try:
            return self._flows[flow_id]
        except KeyError:
            raise UnknownFlow(flow_id) from None

    def flows(self) -> dict[str, Flow]:
        return dict(self._flows)

    def files(self) -> list[Path]:
        out: list[Path] = []
        for source in self._sources:
            if source.is_dir():
                out.extend(sorted(p for p in source.glob("*.yaml") if p.is_file()))
            elif source.is_file():
                out.append(source)
        return out

    def reload(self) -> ReloadReport:
        """Load what changed since the last call (everything, the first time)."""
        report = ReloadReport()
        current = self.files()
        for path in current:
            try:
                stat = path.stat()
            except OSError:
                continue
            signature = (stat.st_mtime_ns, stat.st_size)
            if self._seen.get(path) == signature:
                continue
            self._seen[path] = signature
            self._load(path, report)
        for path in set(self._seen) - set(current):
            del self._seen[path]
            report.removed.append(str(path))
        if report.changed:
            self.reloads += 1
        return report

    def _load(self, path: Path, report: ReloadReport) -> None:
        data, problems = read_yaml(path)
        if not problems and isinstance(data, dict) and data.get("kind") == "prompts":
            return
        loaded = load_flow_file(path)
        errors = [p for p in validate_loaded(loaded, self._checks) if p.is_error]
        flow = loaded.flow
        if errors or flow is None:
            report.refused[str(path)] = errors or list(loaded.problems)
            log.error("ivr_flow_refused", file=str(path), problems=[str(p) for p in errors[:20]])
            return
        owner = self._owner.get(flow.id)
        if owner is not None and owner != path:
            problem = Problem(str(path), "", "id", f"flow id {flow.id!r} is already loaded from {owner}")
            report.refused[str(path)] = [problem]
            log.error("ivr_flow_refused", file=str(path), problems=[str(problem)])
            return
        old = self._flows.get(flow.id)
        if old is not None and old.version == flow.version and old.digest != flow.digest:
            log.warning("ivr_flow_version_unchanged", flow=flow.id, version=flow.version, file=str(path),
                        hint="bump 'version' so call records tell the two apart")
        self._flows[flow.id] = flow
        self._owner[flow.id] = path
        report.loaded.append(flow.label)
        log.info("ivr_flow_loaded", flow=flow.id, version=flow.version, file=str(path),
                 nodes=len(flow.nodes))

    async def watch(self, interval_s: float = 2.0) -> None:
        """Reload every ``interval_s`` seconds, forever (run it as a task; cancel to stop)."""

        async def reload() -> None:
            self.reload()

        await periodic("ivr-flows", interval_s, reload)

    def statistics(self) -> dict[str, Any]:
        return {"flows": {f.id: f.version for f in self._flows.values()}, "reloads": self.reloads,
                "files": len(self._seen)}
