"""Flow files (YAML) into :class:`ivr.model.Flow`.

The loader checks shapes and types, field by field, and keeps going after a bad field so one
run reports every problem (file, node, field). The graph, the prompts and the skills are checked
by :mod:`ivr.validate`, which starts from what this module returns.

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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ivr.errors import FlowError, Problem
from ivr.model import (
    NODE_CLASSES,
    AllOf,
    AnyOf,
    Calendar,
    CalendarCondition,
    Condition,
    FieldCondition,
    Flow,
    InputRule,
    Limits,
    Node,
    Not,
    OpeningHours,
    Rule,
    Scalar,
)

SLUG = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
CONTEXT_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
PROMPT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
# Dial strings and dialplan names go into AGI/AMI commands: no blanks, quotes or separators.
DIAL_STRING = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9_@./&:+-]+$")
DIALPLAN_NAME = re.compile(r"^[A-Za-z0-9_+.-]+$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TOP_FIELDS = ("kind", "id", "version", "description", "default_language", "languages", "entry",
              "fallback", "limits", "calendars", "nodes")


class _Bad(ValueError):
    """A field's value is wrong; ``field`` may name a part inside it (``choices.1``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- field parsers ---------------------------------------------------------------------------

Parser = Callable[[Any], Any]


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"must be a non-empty string, got {value!r}")
    return value.strip()


def _node_ref(value: Any) -> str:
    text = _str(value)
    if not SLUG.match(text):
        raise _Bad(f"{text!r} is not a valid node id (letters, digits, _ and -)")
    return text


def _context_key(value: Any) -> str:
    text = _str(value)
    if not CONTEXT_KEY.match(text):
        raise _Bad(f"{text!r} is not a context key (lower-case words joined by dots)")
    return text


def _prompts(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _Bad(f"must be a prompt name or a list of them, got {value!r}")
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, str) or not PROMPT_NAME.match(item) or ".." in item.split("/"):
            raise _Bad(f"{item!r} is not a prompt name (a sound name such as 'welcome' or "
                       "'digits/1', without extension)", f"[{index}]")
        out.append(item)
    return tuple(out)


def _prompt(value: Any) -> str:
    return _prompts([value])[0]


def _number(low: float, high: float) -> Parser:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(f"must be a number, got {value!r}")
        if not low <= value <= high:
            raise _Bad(f"must be between {low:g} and {high:g}, got {value!r}")
        return float(value)
    return parse


def _int(low: int, high: int) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"must be an integer, got {value!r}")
        if not low <= value <= high:
            raise _Bad(f"must be between {low} and {high}, got {value!r}")
        return value
    return parse


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"must be true or false, got {value!r}")
    return value


def _one_of(*allowed: str) -> Parser:
    def parse(value: Any) -> str:
        if value not in allowed:
            raise _Bad(f"must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)
    return parse


def _terminator(value: Any) -> str:
    if value is None or value == "":
        return ""
    if value not in ("#", "*"):
        raise _Bad(f"must be '#', '*' or empty, got {value!r}")
    return str(value)


def _language(value: Any) -> str:
    text = _str(value)
    if not LANGUAGE.match(text):
        raise _Bad(f"{text!r} is not a language code such as en or zh")
    return text


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, date):
        return value.isoformat()
    raise _Bad(f"must be a string, number, boolean or null, got {value!r}")


def _tags(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _Bad(f"must be a tag or a list of tags, got {value!r}")
    return tuple(_context_key(item) for item in items)


def _choices(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise _Bad("must map digits to node ids, e.g. {1: order_status, 2: returns}")
    out: dict[str, str] = {}
    for key, target in value.items():
        digit = str(key)
        try:
            out[digit] = _node_ref(target)
        except _Bad as exc:
            raise _Bad(str(exc), f".{digit}") from None
    return out


def _str_mapping(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Bad("must map values to prompt names")
    out: dict[str, str] = {}
    for key, prompt in value.items():
        try:
            out[str(key)] = _prompt(prompt)
        except _Bad as exc:
            raise _Bad(str(exc), f".{key}") from None
    return out


def _values(value: Any) -> dict[str, Scalar]:
    if not isinstance(value, dict):
        raise _Bad("must map context keys to values")
    out: dict[str, Scalar] = {}
    for key, item in value.items():
        try:
            out[_context_key(key)] = _scalar(item)
        except _Bad as exc:
            raise _Bad(str(exc), f".{key}") from None
    return out


def _input_rule(value: Any) -> InputRule:
    if isinstance(value, str):
        return InputRule(name=value)
    if not isinstance(value, dict) or "name" not in value:
        raise _Bad("must be a validator name or {name: …, pattern|min|max: …}")
    unknown = sorted(set(value) - {"name", "pattern", "min", "max"})
    if unknown:
        raise _Bad(f"unknown validator field {unknown[0]!r}", f".{unknown[0]}")
    pattern = value.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise _Bad("must be a regular expression string", ".pattern")
    bounds = [value.get(k) for k in ("min", "max")]
    for key, bound in zip(("min", "max"), bounds, strict=True):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
            raise _Bad("must be an integer", f".{key}")
    return InputRule(name=_str(value["name"]), pattern=pattern, minimum=bounds[0], maximum=bounds[1])


def _condition(value: Any, where: str = "") -> Condition:
    if not isinstance(value, dict) or not value:
        raise _Bad("a condition must be a mapping: {field, op, value}, {calendar, is}, "
                   "{all: […]}, {any: […]} or {not: …}", where)
    if "all" in value or "any" in value:
        key = "all" if "all" in value else "any"
        items = value[key]
        if len(value) != 1 or not isinstance(items, list) or not items:
            raise _Bad(f"'{key}' takes a non-empty list of conditions and nothing else", where)
        parts = tuple(_condition(item, f"{where}.{key}[{i}]") for i, item in enumerate(items))
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if "not" in value:
        if len(value) != 1:
            raise _Bad("'not' takes one condition and nothing else", where)
        return Not(_condition(value["not"], f"{where}.not"))
    if "calendar" in value:
        unknown = sorted(set(value) - {"calendar", "is"})
        if unknown:
            raise _Bad(f"unknown condition field {unknown[0]!r}", f"{where}.{unknown[0]}")
        try:
            state = _one_of("open", "closed", "holiday")(value.get("is", "open"))
        except _Bad as exc:
            raise _Bad(str(exc), f"{where}.is") from None
        return CalendarCondition(_node_ref(value["calendar"]), state)
    if "field" in value:
        unknown = sorted(set(value) - {"field", "op", "value"})
        if unknown:
            raise _Bad(f"unknown condition field {unknown[0]!r}", f"{where}.{unknown[0]}")
        try:
            name = _context_key(value["field"])
        except _Bad as exc:
            raise _Bad(str(exc), f"{where}.field") from None
        op = value.get("op", "eq")
        if op not in ("eq", "ne", "in", "exists", "gt", "lt"):
            raise _Bad(f"unknown operator {op!r} (eq, ne, in, exists, gt, lt)", f"{where}.op")
        raw = value.get("value", True if op == "exists" else None)
        if op == "in":
            if not isinstance(raw, list) or not raw:
                raise _Bad("'in' takes a non-empty list of values", f"{where}.value")
            return FieldCondition(name, op, tuple(_scalar(v) for v in raw))
        if op != "exists" and "value" not in value:
            raise _Bad(f"'{op}' needs a value", f"{where}.value")
        if op in ("gt", "lt") and (isinstance(raw, bool) or not isinstance(raw, int | float | str | date)):
            raise _Bad(f"'{op}' compares with a number or a date", f"{where}.value")
        return FieldCondition(name, op, _scalar(raw))
    raise _Bad("a condition needs 'field', 'calendar', 'all', 'any' or 'not'", where)


def _rules(value: Any) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        raise _Bad("must be a list of {if: condition, next: node}")
    rules = []
    for index, item in enumerate(value):
        where = f"[{index}]"
        if not isinstance(item, dict) or set(item) != {"if", "next"}:
            raise _Bad("each rule is exactly {if: condition, next: node}", where)
        try:
            target = _node_ref(item["next"])
        except _Bad as exc:
            raise _Bad(str(exc), f"{where}.next") from None
        rules.append(Rule(_condition(item["if"], f"{where}.if"), target))
    return tuple(rules)


def _dial(value: Any) -> str:
    text = _str(value)
    if not DIAL_STRING.match(text):
        raise _Bad(f"{text!r} is not a dial string such as PJSIP/2000 (no blanks or commas)")
    return text


def _dialplan_name(value: Any) -> str:
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not DIALPLAN_NAME.match(text):
        raise _Bad(f"{value!r} is not a dialplan context or extension name")
    return text


_PROMPTS = _prompts
_RETRIES = {"max_retries": (_int(0, 9), False), "invalid_prompts": (_PROMPTS, False),
            "no_input_prompts": (_PROMPTS, False), "fallback": (_node_ref, False)}

# type -> field -> (parser, required). The model's dataclass field of the same name gets the value.
NODE_FIELDS: dict[str, dict[str, tuple[Parser, bool]]] = {
    "play": {"prompts": (_PROMPTS, True), "next": (_node_ref, True)},
    "menu": {"prompts": (_PROMPTS, True), "choices": (_choices, True),
             "timeout": (_number(1, 60), False), **_RETRIES},
    "collect": {"prompts": (_PROMPTS, True), "store": (_context_key, True),
                "timeout": (_number(1, 60), True), "next": (_node_ref, True),
                "min_length": (_int(1, 64), False), "max_length": (_int(1, 64), False),
                "terminator": (_terminator, False), "validator": (_input_rule, False),
                "sensitive": (_bool, False), **_RETRIES},
    "lookup": {"by": (_one_of("caller", "order"), True), "found": (_node_ref, True),
               "not_found": (_node_ref, True), "key": (_context_key, False),
               "apply_language": (_bool, False), "failed": (_node_ref, False)},
    "say": {"value": (_context_key, True), "as": (_one_of("digits", "number", "status", "date"), True),
            "next": (_node_ref, True), "prompts": (_PROMPTS, False), "after": (_PROMPTS, False),
            "mapping": (_str_mapping, False), "default": (_prompt, False)},
    "branch": {"rules": (_rules, True), "default": (_node_ref, True)},
    "set": {"next": (_node_ref, True), "skill": (_node_ref, False), "priority": (_int(0, 9), False),
            "language": (_language, False), "tags": (_tags, False), "values": (_values, False)},
    "route": {"skill": (_node_ref, False), "min_level": (_int(1, 5), False),
              "language": (_language, False), "priority": (_int(0, 9), False), "tags": (_tags, False),
              "prompts": (_PROMPTS, False), "hold": (_dialplan_name, False),
              "max_wait": (_int(10, 7200), False), "overflow": (_node_ref, False)},
    "callback": {"prompts": (_PROMPTS, True), "next": (_node_ref, True),
                 "timeout": (_number(1, 60), False), "min_length": (_int(3, 20), False),
                 "max_length": (_int(3, 20), False), "reason": (_str, False),
                 "failed": (_node_ref, False), **_RETRIES},
    "voicemail": {"next": (_node_ref, True), "prompts": (_PROMPTS, False),
                  "max_seconds": (_int(5, 600), False), "silence_seconds": (_int(1, 60), False),
                  "beep": (_bool, False), "create_ticket": (_bool, False), "reason": (_str, False)},
    "transfer": {"dial": (_dial, False), "context": (_dialplan_name, False),
                 "exten": (_dialplan_name, False), "priority": (_int(1, 999), False),
                 "timeout": (_int(5, 300), False), "prompts": (_PROMPTS, False),
                 "failed": (_node_ref, False)},
    "hangup": {"prompts": (_PROMPTS, False)},
}
_RENAMED = {"as": "kind"}
_MISSING = {("collect", "timeout"): "missing: a collect must say how many seconds to wait for digits"
                                    " (without it a silent caller waits forever)"}


# --- the file --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LoadResult:
    """What the loader made of a file. ``flow`` is None when the file is not a usable flow at
    all (unreadable, not YAML, no nodes); ``broken`` are node ids whose definition was refused
    (references to them are not reported again as dangling)."""

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
    problems: list[Problem] = []

    def problem(node: str, field: str, message: str) -> None:
        problems.append(Problem(source, node, field, message))

    if not isinstance(data, dict):
        problem("", "", "a flow file must be a mapping with id, version, entry and nodes")
        return LoadResult(None, tuple(problems))
    for key in sorted(set(data) - set(TOP_FIELDS), key=str):
        problem("", str(key), f"unknown field (known: {', '.join(TOP_FIELDS)})")

    def top(key: str, parser: Parser, default: Any = None, required: bool = True) -> Any:
        if key not in data:
            if required:
                problem("", key, "missing")
            return default
        try:
            return parser(data[key])
        except _Bad as exc:
            problem("", key + exc.field, str(exc))
            return default

    if data.get("kind", "flow") != "flow":
        problem("", "kind", f"this is a {data.get('kind')!r} file, not a flow")
    flow_id = top("id", _node_ref, "")
    version = top("version", _int(1, 10**9), 0)
    languages = top("languages", lambda v: tuple(_language(x) for x in _list(v)), ("en",))
    default_language = top("default_language", _language, languages[0] if languages else "en")
    if languages and default_language not in languages:
        problem("", "default_language", f"{default_language!r} is not in languages {list(languages)}")
    entry = top("entry", _node_ref, "")
    fallback = top("fallback", _node_ref, None, required=False)
    limits = top("limits", _limits, Limits(), required=False)
    calendars = _calendars(data.get("calendars", {}), problem)
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        problem("", "nodes", "missing or empty: a flow needs at least one node")
        return LoadResult(None, tuple(problems), raw=data)
    nodes: dict[str, Node] = {}
    broken: set[str] = set()
    for raw_id, raw_node in raw_nodes.items():
        node_id = str(raw_id)
        if not SLUG.match(node_id):
            problem(node_id, "", "a node id is letters, digits, _ and - (starting with a letter)")
            broken.add(node_id)
            continue
        node = _node(node_id, raw_node, problem)
        if node is None:
            broken.add(node_id)
        else:
            nodes[node_id] = node
    flow = Flow(id=flow_id, version=version, default_language=default_language,
                languages=languages, entry=entry, nodes=nodes, calendars=calendars,
                fallback=fallback, limits=limits, source=source, digest=digest)
    return LoadResult(flow, tuple(problems), frozenset(broken), data)


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Bad("must be a non-empty list")
    return value


def _limits(value: Any) -> Limits:
    if not isinstance(value, dict):
        raise _Bad("must be {max_inputs: …, max_steps: …}")
    unknown = sorted(set(value) - {"max_inputs", "max_steps"})
    if unknown:
        raise _Bad("unknown field", f".{unknown[0]}")
    return Limits(max_inputs=_int(1, 1000)(value.get("max_inputs", 40)),
                  max_steps=_int(5, 1000)(value.get("max_steps", 100)))


def _node(node_id: str, raw: Any, problem: Callable[[str, str, str], None]) -> Node | None:
    if not isinstance(raw, dict):
        problem(node_id, "", "a node must be a mapping with a 'type'")
        return None
    node_type = raw.get("type")
    if node_type not in NODE_FIELDS:
        problem(node_id, "type", f"unknown node type {node_type!r} (known: {', '.join(NODE_FIELDS)})")
        return None
    specs = NODE_FIELDS[node_type]
    values: dict[str, Any] = {"id": node_id}
    ok = True
    for key in sorted(set(raw) - set(specs) - {"type", "description"}, key=str):
        problem(node_id, str(key), f"unknown field for a {node_type} node (known: {', '.join(specs)})")
        ok = False
    for name, (parser, required) in specs.items():
        if name not in raw:
            if required:
                problem(node_id, name, _MISSING.get((node_type, name), "missing"))
                ok = False
            continue
        try:
            values[_RENAMED.get(name, name)] = parser(raw[name])
        except _Bad as exc:
            problem(node_id, name + exc.field, str(exc))
            ok = False
    if not ok:
        return None
    return NODE_CLASSES[node_type](**values)


def _calendars(raw: Any, problem: Callable[[str, str, str], None]) -> dict[str, Calendar]:
    if raw is None or raw == {}:
        return {}
    if not isinstance(raw, dict):
        problem("", "calendars", "must map calendar names to {timezone, hours, holidays}")
        return {}
    out: dict[str, Calendar] = {}
    for name, spec in raw.items():
        where = f"calendars.{name}"
        try:
            out[str(name)] = _calendar(str(name), spec)
        except _Bad as exc:
            problem("", where + exc.field, str(exc))
    return out


def _calendar(name: str, spec: Any) -> Calendar:
    if not isinstance(spec, dict):
        raise _Bad("must be {timezone, hours, holidays}")
    unknown = sorted(set(spec) - {"timezone", "hours", "holidays"})
    if unknown:
        raise _Bad("unknown field", f".{unknown[0]}")
    zone = spec.get("timezone")
    if not isinstance(zone, str):
        raise _Bad("missing (an IANA zone such as Asia/Shanghai)", ".timezone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad(f"unknown time zone {zone!r}", ".timezone") from None
    hours_raw = spec.get("hours")
    if not isinstance(hours_raw, list) or not hours_raw:
        raise _Bad("must list opening hours: [{days: mon-fri, open: '08:00', close: '20:00'}]",
                   ".hours")
    hours = tuple(_opening(item, f".hours[{i}]") for i, item in enumerate(hours_raw))
    holidays: set[date] = set()
    for index, item in enumerate(spec.get("holidays") or []):
        holidays.update(_holiday(item, f".holidays[{index}]"))
    return Calendar(name, zone, hours, frozenset(holidays))


def _opening(item: Any, where: str) -> OpeningHours:
    if not isinstance(item, dict) or set(item) != {"days", "open", "close"}:
        raise _Bad("must be exactly {days, open, close}", where)
    days = _days(item["days"], where + ".days")
    start = _time(item["open"], where + ".open")
    end = _time(item["close"], where + ".close")
    if end <= start:
        raise _Bad("closes before it opens (overnight hours: use two entries)", where + ".close")
    return OpeningHours(days, start, end)


def _days(value: Any, where: str) -> frozenset[int]:
    parts = value if isinstance(value, list) else [value]
    days: set[int] = set()
    for part in parts:
        text = str(part).lower()
        first, _, last = text.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise _Bad(f"{part!r} is not a day or day range such as mon-sat", where)
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if b < a:
            raise _Bad(f"{part!r}: the range must run forward (mon-sat)", where)
        days.update(range(a, b + 1))
    return frozenset(days)


def _time(value: Any, where: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60 + 1:
        # YAML 1.1 reads an unquoted 20:00 as the base-60 integer 1200 (minutes)
        hours, minutes = divmod(value, 60)
    else:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value))
        if match is None:
            raise _Bad(f"{value!r} is not a time such as '08:00'", where)
        hours, minutes = int(match[1]), int(match[2])
    if hours == 24 and minutes == 0:
        return time(23, 59, 59, 999999)
    if hours > 23 or minutes > 59:
        raise _Bad(f"{value!r} is not a time of day", where)
    return time(hours, minutes)


def _holiday(item: Any, where: str) -> list[date]:
    if isinstance(item, date):
        return [item]
    text = str(item)
    first, sep, last = text.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        raise _Bad(f"{item!r} is not a date (YYYY-MM-DD) or range (YYYY-MM-DD..YYYY-MM-DD)",
                   where) from None
    if end < start or (end - start).days > 366:
        raise _Bad(f"{item!r} is not a forward range of at most a year", where)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
