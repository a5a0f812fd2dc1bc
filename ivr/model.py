"""The flow model: an IVR flow as frozen data, loaded from ``config/ivr/*.yaml`` by :mod:`ivr.loader`.

A flow is a graph of nodes. Each node type is a dataclass; ``targets()`` lists the nodes it can go
to (field name, node id) so the validator can check the graph without knowing the types, and
``prompt_refs()`` lists the prompts it plays (field name, prompt name) for the sound check.
``WAITS`` says whether the node waits for the caller (a cycle of nodes that never wait is an
endless loop).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import ClassVar

Scalar = str | int | float | bool | None

DTMF_DIGITS = "0123456789*#"
MENU_DIGITS = "0123456789*"  # '#' ends GET DATA's input: it can never arrive as a choice
SAY_KINDS = ("digits", "number", "status", "date")
LOOKUP_KINDS = ("caller", "order")
FIELD_OPS = ("eq", "ne", "in", "exists", "gt", "lt")
CALENDAR_STATES = ("open", "closed", "holiday")


# --- conditions (branch) ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FieldCondition:
    """``{field: customer.tier, op: eq, value: vip}``; ``exists`` takes ``value: false`` to negate."""

    field: str
    op: str
    value: Scalar | tuple[Scalar, ...] = None


@dataclass(frozen=True, slots=True)
class CalendarCondition:
    """``{calendar: aftersales, is: closed}``: open, closed (outside hours or a holiday), holiday."""

    calendar: str
    state: str


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


Condition = FieldCondition | CalendarCondition | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class Rule:
    condition: Condition
    next: str


# --- calendars -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Open on ``days`` (0 = Monday) from ``start`` (inclusive) to ``end`` (exclusive), local time."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Calendar:
    name: str
    timezone: str
    hours: tuple[OpeningHours, ...]
    holidays: frozenset[date] = frozenset()


# --- input validation (collect) --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class InputRule:
    """What a ``collect`` accepts: ``order_number`` (``pattern``), ``phone``, ``digits``, ``date``
    (YYYYMMDD) or ``score`` (``min``..``max``)."""

    name: str
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None


# --- nodes -----------------------------------------------------------------------------------

def _refs(**targets: str | None) -> Iterator[tuple[str, str]]:
    for name, target in targets.items():
        if target:
            yield name, target


def _prompts(name: str, prompts: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for index, prompt in enumerate(prompts):
        yield f"{name}[{index}]", prompt


@dataclass(frozen=True, slots=True)
class PlayNode:
    TYPE: ClassVar[str] = "play"
    WAITS: ClassVar[bool] = False
    id: str
    prompts: tuple[str, ...]
    next: str

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


@dataclass(frozen=True, slots=True)
class MenuNode:
    TYPE: ClassVar[str] = "menu"
    WAITS: ClassVar[bool] = True
    id: str
    prompts: tuple[str, ...]
    choices: Mapping[str, str]
    timeout: float = 5.0
    max_retries: int = 2
    invalid_prompts: tuple[str, ...] = ("pm-invalid-option",)
    no_input_prompts: tuple[str, ...] = ()
    fallback: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        for digit, target in self.choices.items():
            yield f"choices.{digit}", target
        yield from _refs(fallback=self.fallback)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        yield from _prompts("prompts", self.prompts)
        yield from _prompts("invalid_prompts", self.invalid_prompts)
        yield from _prompts("no_input_prompts", self.no_input_prompts)


@dataclass(frozen=True, slots=True)
class CollectNode:
    TYPE: ClassVar[str] = "collect"
    WAITS: ClassVar[bool] = True
    id: str
    prompts: tuple[str, ...]
    store: str
    timeout: float
    next: str
    min_length: int = 1
    max_length: int = 20
    terminator: str = "#"
    validator: InputRule | None = None
    sensitive: bool = False
    max_retries: int = 2
    invalid_prompts: tuple[str, ...] = ()
    no_input_prompts: tuple[str, ...] = ()
    fallback: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next, fallback=self.fallback)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        yield from _prompts("prompts", self.prompts)
        yield from _prompts("invalid_prompts", self.invalid_prompts)
        yield from _prompts("no_input_prompts", self.no_input_prompts)


@dataclass(frozen=True, slots=True)
class LookupNode:
    """``by: caller`` finds the customer by the caller's number; ``by: order`` finds the order
    whose number is in context ``key``. A provider error goes to ``failed`` (or ``not_found``)."""

    TYPE: ClassVar[str] = "lookup"
    WAITS: ClassVar[bool] = False
    id: str
    by: str
    found: str
    not_found: str
    key: str = "order_number"
    apply_language: bool = False
    failed: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(found=self.found, not_found=self.not_found, failed=self.failed)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return iter(())


@dataclass(frozen=True, slots=True)
class SayNode:
    """Read back context ``value`` as digits, a number, a date (``YYYY-MM-DD``) or a status (the
    prompt ``mapping[value]``, else ``default``)."""

    TYPE: ClassVar[str] = "say"
    WAITS: ClassVar[bool] = False
    id: str
    value: str
    kind: str
    next: str
    prompts: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    mapping: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        yield from _prompts("prompts", self.prompts)
        for key, prompt in self.mapping.items():
            yield f"mapping.{key}", prompt
        if self.default:
            yield "default", self.default
        yield from _prompts("after", self.after)


@dataclass(frozen=True, slots=True)
class BranchNode:
    TYPE: ClassVar[str] = "branch"
    WAITS: ClassVar[bool] = False
    id: str
    rules: tuple[Rule, ...]
    default: str

    def targets(self) -> Iterator[tuple[str, str]]:
        for index, rule in enumerate(self.rules):
            yield f"rules[{index}].next", rule.next
        yield "default", self.default

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return iter(())


@dataclass(frozen=True, slots=True)
class SetNode:
    TYPE: ClassVar[str] = "set"
    WAITS: ClassVar[bool] = False
    id: str
    next: str
    skill: str | None = None
    priority: int | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    values: Mapping[str, Scalar] = field(default_factory=dict)

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return iter(())


@dataclass(frozen=True, slots=True)
class RouteNode:
    """Hand the call to skill-based routing, then hold. Unset requirements come from the call
    (``set`` nodes, the chosen language). With ``max_wait`` the caller goes to ``overflow`` after
    that many seconds on hold, if the router still has the call."""

    TYPE: ClassVar[str] = "route"
    WAITS: ClassVar[bool] = True  # holds until an agent takes the call
    id: str
    skill: str | None = None
    min_level: int = 1
    language: str | None = None
    priority: int | None = None
    tags: tuple[str, ...] = ()
    prompts: tuple[str, ...] = ()
    hold: str = "default"
    max_wait: int | None = None
    overflow: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(overflow=self.overflow)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


@dataclass(frozen=True, slots=True)
class CallbackNode:
    """The caller keys the number to call back, or just ``#`` for the number they call from."""

    TYPE: ClassVar[str] = "callback"
    WAITS: ClassVar[bool] = True
    id: str
    prompts: tuple[str, ...]
    next: str
    timeout: float = 8.0
    min_length: int = 5
    max_length: int = 20
    reason: str = "Callback requested in the IVR"
    max_retries: int = 2
    invalid_prompts: tuple[str, ...] = ()
    no_input_prompts: tuple[str, ...] = ()
    fallback: str | None = None
    failed: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next, fallback=self.fallback, failed=self.failed)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        yield from _prompts("prompts", self.prompts)
        yield from _prompts("invalid_prompts", self.invalid_prompts)
        yield from _prompts("no_input_prompts", self.no_input_prompts)


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    """Record a message (AGI ``RECORD FILE``); with ``create_ticket`` a callback ticket points at it."""

    TYPE: ClassVar[str] = "voicemail"
    WAITS: ClassVar[bool] = True
    id: str
    next: str
    prompts: tuple[str, ...] = ()
    max_seconds: int = 120
    silence_seconds: int = 5
    beep: bool = True
    create_ticket: bool = True
    reason: str = "Voicemail left in the IVR"

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


@dataclass(frozen=True, slots=True)
class TransferNode:
    """``dial`` (AGI ``EXEC Dial``) or ``exten``@``context`` (AMI ``Redirect``)."""

    TYPE: ClassVar[str] = "transfer"
    WAITS: ClassVar[bool] = False
    id: str
    dial: str | None = None
    context: str | None = None
    exten: str | None = None
    priority: int = 1
    timeout: int = 30
    prompts: tuple[str, ...] = ()
    failed: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(failed=self.failed)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


@dataclass(frozen=True, slots=True)
class HangupNode:
    TYPE: ClassVar[str] = "hangup"
    WAITS: ClassVar[bool] = False
    id: str
    prompts: tuple[str, ...] = ()

    def targets(self) -> Iterator[tuple[str, str]]:
        return iter(())

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


Node = (PlayNode | MenuNode | CollectNode | LookupNode | SayNode | BranchNode | SetNode | RouteNode
        | CallbackNode | VoicemailNode | TransferNode | HangupNode)
NODE_CLASSES: dict[str, type[Node]] = {cls.TYPE: cls for cls in (
    PlayNode, MenuNode, CollectNode, LookupNode, SayNode, BranchNode, SetNode, RouteNode,
    CallbackNode, VoicemailNode, TransferNode, HangupNode)}


# --- the flow --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep hostile or confused callers (and flow bugs) from looping forever.

    ``max_inputs``: inputs per call (digits, timeouts) before the fallback; ``max_steps``: nodes
    entered without any caller input in between.
    """

    max_inputs: int = 40
    max_steps: int = 100


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    version: int
    default_language: str
    languages: tuple[str, ...]
    entry: str
    nodes: Mapping[str, Node]
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    fallback: str | None = None
    limits: Limits = Limits()
    source: str = ""
    digest: str = ""

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"
