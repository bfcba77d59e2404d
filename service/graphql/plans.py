"""Compiled plans: the documents our clients actually send, answered without GraphQL execution.

Parsing is cached and validation too, but executing a profile page through graphql-core and
Strawberry (a resolver, an awaitable and a type check per field) and loading it as ORM entities
costs several times the SQL it runs. For a document kept in ``service/documents/``, a plan
reads the rows in a fixed number of statements and builds the answer itself, field for field.
Every other document, and every request a plan declines (a malformed or unknown id, a merged
record, variables it does not expect), takes the general path, which answers the errors.

A plan serves a document only once the general path has executed that exact text in this
process: that run applied every request-level check (tokens, depth, aliases, cost, validation).
Where a check depends on a variable (the cost of a page depends on its size), the plan names
those variables (``Plan.admitted_by``) and each of their values is admitted on its own.
``tests/graphql/test_plans.py`` compares both paths byte for byte on every planned document."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strawberry.types import ExecutionResult

from service.documents import document
from service.graphql.context import Context
from service.logging import log

Answer = dict[str, Any]
MAX_ADMISSIONS = 1_024
"""Admissions kept per process: a client sending ever new values of an ``admitted_by`` variable
must not grow them without end (past the cap, new values take the general path)."""
PlanFunction = Callable[[Context, Mapping[str, Any]], Awaitable[Answer | None]]
"""Reads and builds the ``data`` of a document, or None to leave the request to the general
path. It must not write."""


@dataclass(frozen=True)
class Plan:
    document: str
    """The client document's file name in ``service/documents/``, without ``.graphql``."""
    operation_name: str
    answer: PlanFunction
    admitted_by: tuple[str, ...] = ()
    """Variables a request-level check depends on: each combination of their values is
    admitted by a run of the general path of its own."""

    def admission(self, variables: Mapping[str, Any] | None) -> Hashable:
        given = variables or {}
        return (
            self.document,
            *(
                _hashable(given[name]) if name in given else ("absent",)
                for name in self.admitted_by
            ),
        )


@dataclass
class Plans:
    plans: Iterable[Plan]
    _by_text: dict[str, Plan] = field(init=False)
    _admitted: set[Hashable] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._by_text = {document(f"{p.document}.graphql"): p for p in self.plans}

    def match(self, query: str | None, operation_name: str | None) -> Plan | None:
        """The plan for this exact document text, if any."""
        if query is None:
            return None
        plan = self._by_text.get(query)
        if plan is None or operation_name not in (None, plan.operation_name):
            return None
        return plan

    def admitted(self, plan: Plan, variables: Mapping[str, Any] | None) -> bool:
        return plan.admission(variables) in self._admitted

    def admit(
        self, plan: Plan, variables: Mapping[str, Any] | None, result: ExecutionResult
    ) -> None:
        """Admit ``plan`` (for these values of its ``admitted_by``) once the general path has
        executed its document (data, even with field errors, means it passed every
        request-level check)."""
        if result.data is not None and len(self._admitted) < MAX_ADMISSIONS:
            self._admitted.add(plan.admission(variables))

    async def run(
        self, plan: Plan, context: Context, variables: Mapping[str, Any] | None
    ) -> ExecutionResult | None:
        """The plan's answer, or None when the general path must answer (the plan declined,
        or failed: the general path then meets the same failure and reports it)."""
        started = time.perf_counter()
        try:
            data = await plan.answer(context, variables or {})
        except Exception:
            log.warning("plan.failed", document=plan.document, exc_info=True)
            await context.session.rollback()
            return None
        if data is None:
            return None
        metrics = context.metrics
        label = metrics.operation_label(plan.operation_name)
        metrics.operations.labels(operation=label, type="query").inc()
        metrics.operation_seconds.labels(operation=label).observe(time.perf_counter() - started)
        metrics.planned_answers.labels(operation=label).inc()
        context.request.scope.setdefault("state", {})["operation_name"] = label
        return ExecutionResult(data=data, errors=None)


def page_variables(
    variables: Mapping[str, Any], expected: Iterable[str], default_first: int
) -> tuple[int, str | None] | None:
    """A connection document's ``$first`` (``default_first`` when absent) and ``$after``, or
    None when a variable is not one of ``expected`` or not of the type GraphQL takes: the
    general path reports those."""
    first, after = variables.get("first", default_first), variables.get("after")
    if not variables.keys() <= set(expected):
        return None
    if isinstance(first, bool) or not isinstance(first, int):
        return None
    if after is not None and not isinstance(after, str):
        return None
    return first, after


def _hashable(value: Any) -> Hashable:
    """A variable's value as a key: JSON scalars as they are, anything else as its repr (never
    equal to a scalar, so a list is admitted apart from a number)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return (type(value).__name__, value)
    return ("other", repr(value))
