"""Flow files (YAML) into :class:`ivr.model.Flow`.

The top of the file is checked by :class:`ivr.schema.FlowFile`, each node by its type's model in
:mod:`ivr.model`, one node at a time, so one run reports every problem (file, node, field). The
graph, the prompts and the skills are checked by :mod:`ivr.validate`, which starts from what this
module returns.

A flow file::

    id: aftersales            # slug
    version: 3                # integer; a running call keeps the version it started with
    default_language: en
    languages: [en, zh]
    entry: start
    fallback: to_general      # optional: where errors and exhausted retries go
    limits: {max_inputs: 40, max_steps: 100}
    calendars:
      aftersales:
        timezone: Asia/Shanghai
        hours: [{days: mon-sat, open: "08:00", close: "20:00"}]
        holidays: [2026-01-01, 2026-02-15..2026-02-23]
    nodes:
      start: {type: play, prompts: [welcome], next: menu}
      ...

See ``config/ivr/README.md`` for every node type and field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from callcenter.schema.base import located
from ivr.errors import FlowError, Problem
from ivr.fields import SLUG
from ivr.model import NODE_CLASSES, Flow, Node
from ivr.schema import FlowFile


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What the loader made of a file. ``flow`` is None when the file is not a usable flow at
    all (unreadable, not YAML, a bad top-level field); ``broken`` are node ids whose definition
    was refused (references to them are not reported again as dangling)."""

    flow: Flow | None
    problems: tuple[Problem, ...]
    broken: frozenset[str] = frozenset()
    raw: Mapping[str, Any] = field(default_factory=dict)

    def broken_targets(self) -> dict[str, set[str]]:
        """Node ids a refused node mentions anywhere (so what lies behind it is not reported as
        unreachable too)."""
        nodes = self.raw.get("nodes") if isinstance(self.raw, dict) else None
        if not isinstance(nodes, dict):
            return {}
        declared = {str(k) for k in nodes}
        return {node_id: _strings(nodes.get(node_id)) & declared for node_id in self.broken}

    @property
    def ok(self) -> bool:
        return self.flow is not None and not any(p.is_error for p in self.problems)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """Parse a YAML file; problems say why it could not be read (with the line)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [Problem(name, "", "", f"cannot read the file: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return None, [Problem(name, "", "", "the file is not UTF-8 text")]
    try:
        return yaml.safe_load(text), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(name, "", "", f"not valid YAML{line}: {reason}")]


def load_flow_file(path: Path) -> LoadResult:
    """Load one flow file, collecting every shape problem."""
    data, problems = read_yaml(path)
    if problems:
        return LoadResult(None, tuple(problems))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return parse_flow(data, str(path), digest)


def load_flow(path: Path) -> Flow:
    """Load one flow file or raise.

    Raises:
        FlowError: the file has errors (all of them are in ``problems``).
    """
    result = load_flow_file(path)
    if result.flow is None or not result.ok:
        raise FlowError(result.problems)
    return result.flow


def parse_flow(data: Any, source: str = "<flow>", digest: str = "") -> LoadResult:
    """Build a flow from parsed YAML (a dict)."""
    if not isinstance(data, dict):
        message = "a flow file must be a mapping with id, version, entry and nodes"
        return LoadResult(None, (Problem(source, "", "", message),))
    problems: list[Problem] = []
    top = _top(data, source, problems)
    raw_nodes = data.get("nodes")
    nodes, broken = _nodes(raw_nodes if isinstance(raw_nodes, dict) else {}, source, problems)
    if top is None:
        return LoadResult(None, tuple(problems), frozenset(broken), data)
    calendars = {name: spec.calendar(name) for name, spec in top.calendars.items()}
    flow = Flow(id=top.id, version=top.version, default_language=top.default_language,
                languages=top.languages, entry=top.entry, nodes=nodes, calendars=calendars,
                fallback=top.fallback, limits=top.limits, source=source, digest=digest)
    return LoadResult(flow, tuple(problems), frozenset(broken), data)


def _top(data: dict[Any, Any], source: str, problems: list[Problem]) -> FlowFile | None:
    """The top of the file; with a bad optional field, what the rest makes without it."""
    try:
        return FlowFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(Problem(source, "", p.path, p.message) for p in located(exc, FlowFile))
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
    try:
        return FlowFile.model_validate({k: v for k, v in data.items() if k not in bad})
    except ValidationError:
        return None


def _nodes(raw: dict[Any, Any], source: str, problems: list[Problem]) -> tuple[dict[str, Node], set[str]]:
    nodes: dict[str, Node] = {}
    broken: set[str] = set()
    for raw_id, raw_node in raw.items():
        node_id = str(raw_id)
        found = _node(node_id, raw_node)
        if isinstance(found, list):
            problems.extend(Problem(source, node_id, path, message) for path, message in found)
            broken.add(node_id)
        else:
            nodes[node_id] = found
    return nodes, broken


def _node(node_id: str, raw: Any) -> Node | list[tuple[str, str]]:
    """The node, or what is wrong with it as (field, message) pairs."""
    refused = _node_problems(node_id, raw)
    if refused:
        return refused
    model = NODE_CLASSES[raw["type"]]
    try:
        return model.model_validate({**raw, "id": node_id})
    except ValidationError as exc:
        return [(p.path, p.message) for p in located(exc, model)]


def _node_problems(node_id: str, raw: Any) -> list[tuple[str, str]]:
    """What makes a node unreadable before its fields are looked at."""
    if not SLUG.match(node_id):
        return [("", "a node id is letters, digits, _ and - (starting with a letter)")]
    if not isinstance(raw, dict):
        return [("", "a node must be a mapping with a 'type'")]
    if raw.get("type") not in NODE_CLASSES:
        return [("type", f"unknown node type {raw.get('type')!r} (known: {', '.join(NODE_CLASSES)})")]
    if "id" in raw:
        return [("id", "unknown field: a node's id is its key under nodes")]
    return []


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()
