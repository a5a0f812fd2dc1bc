"""Flow validation: everything that would hurt a caller, found before a flow goes live.

On top of the loader's shape checks (unknown node types and fields, missing fields, bad values):
dangling references, unreachable nodes, loops that never wait for the caller, prompts that no
sound directory has (on a real Asterisk a missing prompt ends the call: ``missing_prompt``
capture), routes to skills that do not exist, unknown input validators, menu keys that are not
DTMF, and inconsistent fields. Each :class:`~ivr.errors.Problem` names the file, node and field.

A ``kind: prompts`` file (the prompt catalogue) is checked by :mod:`ivr.prompts` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.schema.skills import read_skill_names
from ivr.errors import Problem
from ivr.inputs import rule_problem
from ivr.loader import LoadResult, load_flow_file, read_yaml
from ivr.model import (
    MENU_DIGITS,
    BranchNode,
    CallbackNode,
    CollectNode,
    Flow,
    LookupNode,
    MenuNode,
    Node,
    RouteNode,
    SayNode,
    SetNode,
    TransferNode,
)
from ivr.prompts import check_catalogue
from ivr.rules import AllOf, AnyOf, CalendarCondition, Condition, Not
from ivr.sounds import DEFAULT_LANGUAGE, SoundIndex


@dataclass(frozen=True, slots=True)
class Checks:
    """What to check flows against. ``sounds``/``skills`` None skips that check."""

    sounds: SoundIndex | None = None
    skills: frozenset[str] | None = None
    warn_untranslated: bool = True


def load_skills(path: Path) -> frozenset[str]:
    """Skill names from ``config/skills.yaml`` (``skills: [{name: …, description: …}, …]``).

    Raises:
        ValueError: the file is missing or malformed (the message names it).
    """
    return frozenset(read_skill_names(path))


def validate_paths(paths: Sequence[Path], checks: Checks) -> dict[str, list[Problem]]:
    """Validate several files; also reports two files declaring the same flow id."""
    results: dict[str, list[Problem]] = {}
    owners: dict[str, str] = {}
    for path in paths:
        data, problems = read_yaml(path)
        if not problems and isinstance(data, dict) and data.get("kind") == "prompts":
            results[str(path)] = check_catalogue(path, checks.sounds)
            continue
        loaded = load_flow_file(path)
        found = validate_loaded(loaded, checks)
        flow = loaded.flow
        if flow is not None and flow.id:
            if flow.id in owners:
                found.append(Problem(str(path), "", "id", f"flow id {flow.id!r} is also used by "
                                                           f"{owners[flow.id]}"))
            owners.setdefault(flow.id, str(path))
        results[str(path)] = found
    return results


def validate_loaded(loaded: LoadResult, checks: Checks) -> list[Problem]:
    problems = list(loaded.problems)
    if loaded.flow is not None:
        problems += validate_flow(loaded.flow, checks, loaded.broken_targets())
    return problems


def validate_flow(flow: Flow, checks: Checks, broken: Mapping[str, set[str]] | None = None) -> list[Problem]:
    """Semantic checks of a loaded flow (the loader already checked shapes). ``broken``: nodes the
    loader refused, with the node ids they mention."""
    return list(_Validator(flow, checks, broken or {}).run())


class _Validator:
    def __init__(self, flow: Flow, checks: Checks, broken: Mapping[str, set[str]]) -> None:
        self.flow = flow
        self.checks = checks
        self.broken = broken
        self.file = flow.source

    def problem(self, node: str, field: str, message: str, severity: str = "error") -> Problem:
        return Problem(self.file, node, field, message, severity)

    def run(self) -> Iterator[Problem]:
        yield from self.references()
        yield from self.reachability()
        yield from self.loops()
        for node in self.flow.nodes.values():
            yield from self.node(node)
            yield from self.prompts(node)

    # --- graph ---------------------------------------------------------------------------

    def known(self, target: str) -> bool:
        return target in self.flow.nodes or target in self.broken

    def references(self) -> Iterator[Problem]:
        flow = self.flow
        if flow.entry and not self.known(flow.entry):
            yield self.problem("", "entry", f"entry {flow.entry!r} is not a node")
        if flow.default_language not in flow.languages:
            yield self.problem("", "default_language", f"{flow.default_language!r} is not in languages "
                               f"{list(flow.languages)}")
        if flow.fallback and not self.known(flow.fallback):
            yield self.problem("", "fallback", f"fallback {flow.fallback!r} is not a node")
        for node in flow.nodes.values():
            for field, target in node.targets():
                if not self.known(target):
                    yield self.problem(node.id, field, f"goes to {target!r}, which is not a node")

    def reachability(self) -> Iterator[Problem]:
        roots = [r for r in (self.flow.entry, self.flow.fallback) if r]
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            node = self.flow.nodes.get(current)
            if node is not None:
                todo.extend(target for _, target in node.targets())
            todo.extend(self.broken.get(current, ()))
        for node_id in self.flow.nodes:
            if node_id not in seen:
                yield self.problem(node_id, "", "unreachable: no path from the entry leads here")

    def loops(self) -> Iterator[Problem]:
        """Cycles made only of nodes that never wait for the caller (Tarjan's SCC)."""
        graph: dict[str, list[str]] = {}
        for node in self.flow.nodes.values():
            if not node.WAITS:
                graph[node.id] = [t for _, t in node.targets()
                                  if t in self.flow.nodes and not self.flow.nodes[t].WAITS]
        for component in _strongly_connected(graph):
            if len(component) > 1 or component[0] in graph[component[0]]:
                cycle = sorted(component)
                yield self.problem(cycle[0], "", "loop with no caller input: "
                                   f"{' → '.join([*cycle, cycle[0]])} never waits for a key press")

    # --- nodes ---------------------------------------------------------------------------

    def node(self, node: Node) -> Iterator[Problem]:
        if isinstance(node, MenuNode):
            yield from self.menu(node)
        elif isinstance(node, CollectNode):
            yield from self.collect(node)
        elif isinstance(node, CallbackNode) and node.min_length > node.max_length:
            yield self.problem(node.id, "min_length", "is greater than max_length")
        elif isinstance(node, SetNode | RouteNode):
            yield from self.routing(node)
        elif isinstance(node, BranchNode):
            for index, rule in enumerate(node.rules):
                yield from self.condition(node.id, f"rules[{index}].if", rule.condition)
        elif isinstance(node, SayNode):
            yield from self.say(node)
        elif isinstance(node, TransferNode):
            yield from self.transfer(node)
        elif isinstance(node, LookupNode) and node.by == "order":
            stored = {n.store for n in self.flow.nodes.values() if isinstance(n, CollectNode)}
            stored |= {k for n in self.flow.nodes.values() if isinstance(n, SetNode) for k in n.values}
            if node.key not in stored:
                yield self.problem(node.id, "key", f"no collect or set node stores {node.key!r}",
                                   "warning")

    def menu(self, node: MenuNode) -> Iterator[Problem]:
        for digit in node.choices:
            if digit == "#":
                yield self.problem(node.id, "choices.#", "'#' ends the caller's input (GET DATA) "
                                   "and never arrives as a choice")
            elif len(digit) != 1 or digit not in MENU_DIGITS:
                yield self.problem(node.id, f"choices.{digit}", f"{digit!r} is not a DTMF key "
                                   "(one of 0-9 or *; quote '*' in YAML)")

    def collect(self, node: CollectNode) -> Iterator[Problem]:
        if node.min_length > node.max_length:
            yield self.problem(node.id, "min_length", "is greater than max_length")
        if node.validator is not None:
            why = rule_problem(node.validator)
            if why:
                yield self.problem(node.id, "validator", why)

    def routing(self, node: SetNode | RouteNode) -> Iterator[Problem]:
        skills = self.checks.skills
        if node.skill and skills is not None and node.skill not in skills:
            yield self.problem(node.id, "skill", f"unknown skill {node.skill!r} "
                               f"(known: {', '.join(sorted(skills))})")
        if node.language and node.language not in self.flow.languages:
            yield self.problem(node.id, "language", f"{node.language!r} is not one of the flow's "
                               f"languages {list(self.flow.languages)}")
        if isinstance(node, RouteNode):
            if node.overflow and node.max_wait is None:
                yield self.problem(node.id, "overflow", "is never used without max_wait")
            if node.max_wait is not None and not node.overflow:
                yield self.problem(node.id, "max_wait", "without overflow the call is only "
                                   "queued again", "warning")

    def condition(self, node_id: str, field: str, condition: Condition) -> Iterator[Problem]:
        if isinstance(condition, CalendarCondition):
            if condition.calendar not in self.flow.calendars:
                yield self.problem(node_id, f"{field}.calendar", f"unknown calendar "
                                   f"{condition.calendar!r} (define it under calendars)")
        elif isinstance(condition, AllOf | AnyOf):
            for index, part in enumerate(condition.conditions):
                yield from self.condition(node_id, f"{field}[{index}]", part)
        elif isinstance(condition, Not):
            yield from self.condition(node_id, f"{field}.not", condition.condition)

    def say(self, node: SayNode) -> Iterator[Problem]:
        if node.kind == "status" and not node.mapping and not node.default:
            yield self.problem(node.id, "mapping", "a status read-back needs a mapping of values "
                               "to prompts (or a default)")
        if node.kind != "status" and node.mapping:
            yield self.problem(node.id, "mapping", f"is only used with 'as: status', not {node.kind}")

    def transfer(self, node: TransferNode) -> Iterator[Problem]:
        if bool(node.dial) == bool(node.exten):
            yield self.problem(node.id, "dial", "give either dial (a dial string) or exten and "
                               "context (a Redirect), not both or neither")
        elif node.exten and not node.context:
            yield self.problem(node.id, "context", "missing: a Redirect needs the context of exten")

    # --- prompts -------------------------------------------------------------------------

    def prompts(self, node: Node) -> Iterator[Problem]:
        sounds = self.checks.sounds
        if sounds is None:
            return
        for field, prompt in node.prompt_refs():
            languages = self.flow.languages
            unheard = [lang for lang in languages if not sounds.exists(prompt, lang)]
            if len(unheard) == len(languages):
                yield self.problem(node.id, field, f"prompt {prompt!r} exists in no sound directory "
                                   f"({', '.join(sounds.dirs) or 'none configured'}); Asterisk "
                                   "would end the call there")
                continue
            if unheard:
                yield self.problem(node.id, field, f"prompt {prompt!r} has no recording that "
                                   f"{'/'.join(unheard)} callers can hear (only "
                                   f"{'/'.join(lang for lang in languages if lang not in unheard)})")
                continue
            if not self.checks.warn_untranslated:
                continue
            for lang in languages:
                if lang != DEFAULT_LANGUAGE and not sounds.translated(prompt, lang):
                    yield self.problem(node.id, field, f"prompt {prompt!r} has no {lang} recording "
                                       f"({lang}/{prompt}): {lang} callers hear the default",
                                       "warning")


def _strongly_connected(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iterative (a long flow cannot overflow the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def enter(vertex: str) -> tuple[str, Iterator[str]]:
        index[vertex] = low[vertex] = len(index)
        stack.append(vertex)
        return vertex, iter(graph[vertex])

    for root in graph:
        if root in index:
            continue
        work = [enter(root)]
        while work:
            vertex, edges = work[-1]
            succ = next(edges, None)
            if succ is not None:
                if succ not in index:
                    work.append(enter(succ))
                elif succ in stack:
                    low[vertex] = min(low[vertex], index[succ])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[vertex])
            if low[vertex] == index[vertex]:
                out.append(_pop_component(stack, vertex))
    return out


def _pop_component(stack: list[str], root: str) -> list[str]:
    position = len(stack) - 1 - stack[::-1].index(root)
    component = stack[position:][::-1]
    del stack[position:]
    return component


def error_count(results: Mapping[str, Iterable[Problem]]) -> int:
    return sum(1 for problems in results.values() for p in problems if p.is_error)


def as_json(results: Mapping[str, Sequence[Problem]]) -> list[dict[str, Any]]:
    return [{"file": p.file or path, "node": p.node, "field": p.field, "severity": p.severity,
             "message": p.message} for path, problems in results.items() for p in problems]
