"""The flow model: an IVR flow as frozen data, loaded from ``config/ivr/*.yaml`` by :mod:`ivr.loader`.

A flow is a graph of nodes. Each node type is a model of the file's node mapping (its fields are
checked as they are read); ``targets()`` lists the nodes it can go to (field name, node id) so the
validator can check the graph without knowing the types, and ``prompt_refs()`` lists the prompts
it plays (field name, prompt name) for the sound check. ``WAITS`` says whether the node waits for
the caller (a cycle of nodes that never wait is an endless loop).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from callcenter.schema.base import Schema
from callcenter.schema.fields import Flag, Integer, between
from ivr.fields import (
    VALUES,
    Choices,
    ContextKey,
    Dial,
    DialplanName,
    Language,
    NodeRef,
    Priority,
    Prompt,
    PromptMap,
    Prompts,
    Retries,
    Seconds,
    Tags,
    Terminator,
    Text,
    one_of,
)
from ivr.fields import Scalar as Scalar  # the type of context values, used across the IVR
from ivr.rules import Rule

DTMF_DIGITS = "0123456789*#"
MENU_DIGITS = "0123456789*"  # '#' ends GET DATA's input: it can never arrive as a choice
SAY_KINDS = ("digits", "number", "status", "date")
LOOKUP_KINDS = ("caller", "order")


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

def _rule_by_name(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class InputRule(Schema):
    """What a ``collect`` accepts: ``order_number`` (``pattern``), ``phone``, ``digits``, ``date``
    (YYYYMMDD) or ``score`` (``min``..``max``); a bare name stands for ``{name: …}``."""

    name: Text
    pattern: Annotated[str, Field(strict=True)] | None = None
    minimum: Annotated[Integer | None, Field(alias="min")] = None
    maximum: Annotated[Integer | None, Field(alias="max")] = None


# --- nodes -----------------------------------------------------------------------------------

def _refs(**targets: str | None) -> Iterator[tuple[str, str]]:
    for name, target in targets.items():
        if target:
            yield name, target


def _prompts(name: str, prompts: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for index, prompt in enumerate(prompts):
        yield f"{name}[{index}]", prompt


class _Node(Schema):
    """What every node has: its id (the key in ``nodes``, set by the loader) and a description."""

    TYPE: ClassVar[str] = ""
    WAITS: ClassVar[bool] = False
    id: Annotated[str, Field(exclude=True)]
    description: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return iter(())

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return iter(())


class _Asking(_Node):
    """A node that asks again on a wrong answer or silence, then goes to ``fallback``."""

    WAITS: ClassVar[bool] = True
    prompts: Prompts
    max_retries: Retries = 2
    invalid_prompts: Prompts = ()
    no_input_prompts: Prompts = ()
    fallback: NodeRef | None = None

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        yield from _prompts("prompts", self.prompts)
        yield from _prompts("invalid_prompts", self.invalid_prompts)
        yield from _prompts("no_input_prompts", self.no_input_prompts)


class PlayNode(_Node):
    TYPE: ClassVar[str] = "play"
    type: Annotated[Literal["play"], Field(exclude=True)] = "play"
    prompts: Prompts
    next: NodeRef

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


class MenuNode(_Asking):
    TYPE: ClassVar[str] = "menu"
    type: Annotated[Literal["menu"], Field(exclude=True)] = "menu"
    choices: Choices
    timeout: Seconds = 5.0
    invalid_prompts: Prompts = ("pm-invalid-option",)

    def targets(self) -> Iterator[tuple[str, str]]:
        for digit, target in self.choices.items():
            yield f"choices.{digit}", target
        yield from _refs(fallback=self.fallback)


class CollectNode(_Asking):
    TYPE: ClassVar[str] = "collect"
    type: Annotated[Literal["collect"], Field(exclude=True)] = "collect"
    store: ContextKey
    timeout: Annotated[Seconds, Field(json_schema_extra={
        "missing": "a collect must say how many seconds to wait for digits (without it a silent "
                   "caller waits forever)"})]
    next: NodeRef
    min_length: Annotated[Integer, between(1, 64)] = 1
    max_length: Annotated[Integer, between(1, 64)] = 20
    terminator: Terminator = "#"
    validator: Annotated[InputRule | None, BeforeValidator(_rule_by_name)] = None
    sensitive: Flag = False

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next, fallback=self.fallback)


class LookupNode(_Node):
    """``by: caller`` finds the customer by the caller's number; ``by: order`` finds the order
    whose number is in context ``key``. A provider error goes to ``failed`` (or ``not_found``)."""

    TYPE: ClassVar[str] = "lookup"
    type: Annotated[Literal["lookup"], Field(exclude=True)] = "lookup"
    by: Annotated[str, one_of(*LOOKUP_KINDS)]
    found: NodeRef
    not_found: NodeRef
    key: ContextKey = "order_number"
    apply_language: Flag = False
    failed: NodeRef | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(found=self.found, not_found=self.not_found, failed=self.failed)


class SayNode(_Node):
    """Read back context ``value`` as digits, a number, a date (``YYYY-MM-DD``) or a status (the
    prompt ``mapping[value]``, else ``default``)."""

    TYPE: ClassVar[str] = "say"
    type: Annotated[Literal["say"], Field(exclude=True)] = "say"
    value: ContextKey
    kind: Annotated[str, one_of(*SAY_KINDS), Field(alias="as")]
    next: NodeRef
    prompts: Prompts = ()
    after: Prompts = ()
    mapping: PromptMap = Field(default_factory=dict)
    default: Prompt | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        yield from _prompts("prompts", self.prompts)
        for key, prompt in self.mapping.items():
            yield f"mapping.{key}", prompt
        if self.default:
            yield "default", self.default
        yield from _prompts("after", self.after)


class BranchNode(_Node):
    TYPE: ClassVar[str] = "branch"
    type: Annotated[Literal["branch"], Field(exclude=True)] = "branch"
    rules: tuple[Rule, ...]
    default: NodeRef

    def targets(self) -> Iterator[tuple[str, str]]:
        for index, rule in enumerate(self.rules):
            yield f"rules[{index}].next", rule.next
        yield "default", self.default


class SetNode(_Node):
    TYPE: ClassVar[str] = "set"
    type: Annotated[Literal["set"], Field(exclude=True)] = "set"
    next: NodeRef
    skill: NodeRef | None = None
    priority: Priority | None = None
    language: Language | None = None
    tags: Tags = ()
    values: Annotated[dict[str, Scalar], VALUES] = Field(default_factory=dict)

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)


class RouteNode(_Node):
    """Hand the call to skill-based routing, then hold. Unset requirements come from the call
    (``set`` nodes, the chosen language). With ``max_wait`` the caller goes to ``overflow`` after
    that many seconds on hold, if the router still has the call."""

    TYPE: ClassVar[str] = "route"
    WAITS: ClassVar[bool] = True  # holds until an agent takes the call
    type: Annotated[Literal["route"], Field(exclude=True)] = "route"
    skill: NodeRef | None = None
    min_level: Annotated[Integer, between(1, 5)] = 1
    language: Language | None = None
    priority: Priority | None = None
    tags: Tags = ()
    prompts: Prompts = ()
    hold: DialplanName = "default"
    max_wait: Annotated[Integer, between(10, 7200)] | None = None
    overflow: NodeRef | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(overflow=self.overflow)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


class CallbackNode(_Asking):
    """The caller keys the number to call back, or just ``#`` for the number they call from."""

    TYPE: ClassVar[str] = "callback"
    type: Annotated[Literal["callback"], Field(exclude=True)] = "callback"
    next: NodeRef
    timeout: Seconds = 8.0
    min_length: Annotated[Integer, between(3, 20)] = 5
    max_length: Annotated[Integer, between(3, 20)] = 20
    reason: Text = "Callback requested in the IVR"
    failed: NodeRef | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next, fallback=self.fallback, failed=self.failed)


class VoicemailNode(_Node):
    """Record a message (AGI ``RECORD FILE``); with ``create_ticket`` a callback ticket points at it."""

    TYPE: ClassVar[str] = "voicemail"
    WAITS: ClassVar[bool] = True
    type: Annotated[Literal["voicemail"], Field(exclude=True)] = "voicemail"
    next: NodeRef
    prompts: Prompts = ()
    max_seconds: Annotated[Integer, between(5, 600)] = 120
    silence_seconds: Annotated[Integer, between(1, 60)] = 5
    beep: Flag = True
    create_ticket: Flag = True
    reason: Text = "Voicemail left in the IVR"

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(next=self.next)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


class TransferNode(_Node):
    """``dial`` (AGI ``EXEC Dial``) or ``exten``@``context`` (AMI ``Redirect``)."""

    TYPE: ClassVar[str] = "transfer"
    type: Annotated[Literal["transfer"], Field(exclude=True)] = "transfer"
    dial: Dial | None = None
    context: DialplanName | None = None
    exten: DialplanName | None = None
    priority: Annotated[Integer, between(1, 999)] = 1
    timeout: Annotated[Integer, between(5, 300)] = 30
    prompts: Prompts = ()
    failed: NodeRef | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        return _refs(failed=self.failed)

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


class HangupNode(_Node):
    TYPE: ClassVar[str] = "hangup"
    type: Annotated[Literal["hangup"], Field(exclude=True)] = "hangup"
    prompts: Prompts = ()

    def prompt_refs(self) -> Iterator[tuple[str, str]]:
        return _prompts("prompts", self.prompts)


Node = (PlayNode | MenuNode | CollectNode | LookupNode | SayNode | BranchNode | SetNode | RouteNode
        | CallbackNode | VoicemailNode | TransferNode | HangupNode)
NODE_CLASSES: dict[str, type[Node]] = {cls.TYPE: cls for cls in (
    PlayNode, MenuNode, CollectNode, LookupNode, SayNode, BranchNode, SetNode, RouteNode,
    CallbackNode, VoicemailNode, TransferNode, HangupNode)}


# --- the flow --------------------------------------------------------------------------------

class Limits(Schema):
    """Bounds that keep hostile or confused callers (and flow bugs) from looping forever.

    ``max_inputs``: inputs per call (digits, timeouts) before the fallback; ``max_steps``: nodes
    entered without any caller input in between.
    """

    max_inputs: Annotated[Integer, between(1, 1000)] = 40
    max_steps: Annotated[Integer, between(5, 1000)] = 100


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
    limits: Limits = field(default_factory=Limits)
    source: str = ""
    digest: str = ""

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

