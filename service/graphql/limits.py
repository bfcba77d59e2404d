"""The cost limit: the sum, over every field an operation selects, of the product of the bounds
of the lists above it. A list's bound is its real one: the page size (``first``/``last``) of a
connection, ``len(ids)`` of ``nodes``, the ``limit`` of a graph slice (``edges``: four times
it, the most its answer holds), the author cap of ``Work.authorships``, or the fixed bound of
``LIST_BOUNDS``; ``graphSlice`` itself costs ``limit x depth`` and an operation may hold only
``graph_slices_per_operation`` of them (PageRank runs for each). Depth, alias and token limits
are strawberry's own extensions; this one needs the variables, so it runs just before
execution."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.errors import QueryTooComplex
from service.graph.slice import EDGES_PER_NODE

PAGE_ARGUMENTS = ("first", "last")
LIST_BOUNDS: Mapping[tuple[str, str], int] = {
    ("Trust", "factors"): 4,
    ("TrustHistoryEntry", "factors"): 4,
    ("Authorship", "institutions"): 10,  # an estimate: hardly any authorship names more
    ("ImportRecordResult", "notes"): 10,  # an estimate, as above
}
"""Lists without paging arguments whose bound is fixed."""
BOUNDED_BY_ARGUMENTS = frozenset(
    {
        ("Query", "nodes"),
        ("GraphSlice", "nodes"),
        ("GraphSlice", "edges"),
        ("Work", "authorships"),
        ("ImportWorksPayload", "results"),
        ("AddWorkPayload", "authors"),
    }
)
"""Lists without paging arguments bounded by an argument or a setting (``list_bound``)."""


@dataclass(frozen=True)
class Bounds:
    """What bounds the lists that take no page size, from the settings."""

    default_page_size: int
    authors_per_work: int
    import_records: int
    graph_slice_depth: int = 2
    graph_slice_limit: int = 50


class _CostWalker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        bounds: Bounds,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.bounds = bounds
        self.graph_slices = 0
        self.slice_limit = bounds.graph_slice_limit
        """The ``limit`` of the graph slice being walked: its lists' bound."""
        self.import_records = bounds.import_records
        """The records of the import mutation being walked: its results' bound."""

    def argument(self, field: FieldNode, name: str) -> Any:
        """An argument's value, literal or from the variables (None when not given)."""
        for argument in field.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                return self.variables.get(value.name.value)
            return value_from_ast_untyped(value, dict(self.variables))
        return None

    def number(self, field: FieldNode, name: str, default: int) -> int:
        given = self.argument(field, name)
        return max(1, given) if isinstance(given, int) and not isinstance(given, bool) else default

    def list_bound(self, parent: str, field: FieldNode, definition: GraphQLField) -> int:
        """How many items the field's answer can hold (1 when it is not a list)."""
        name = field.name.value
        if any(a in definition.args for a in PAGE_ARGUMENTS):
            for argument in PAGE_ARGUMENTS:
                size = self.argument(field, argument)
                if isinstance(size, int) and not isinstance(size, bool):
                    return max(1, size)
            return self.bounds.default_page_size
        if not _is_list(definition.type) or (parent.endswith("Connection") and name == "edges"):
            return 1  # a connection's edges: counted by its page size already
        if (parent, name) == ("Query", "nodes"):
            ids = self.argument(field, "ids")
            return max(1, len(ids)) if isinstance(ids, list) else 1
        if parent == "GraphSlice":
            edges = EDGES_PER_NODE if name == "edges" else 1
            return self.slice_limit * edges
        if (parent, name) == ("Work", "authorships"):
            return self.bounds.authors_per_work
        if parent in ("ImportWorksPayload", "AddWorkPayload"):
            return self.import_records
        return LIST_BOUNDS.get((parent, name), self.bounds.default_page_size)

    def cost(
        self,
        selection_set: SelectionSetNode,
        parent: Any,
        multiplier: int,
        seen: frozenset[str] = frozenset(),
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                fields = getattr(parent, "fields", None)
                if name.startswith("__") or fields is None or name not in fields:
                    continue
                definition = fields[name]
                factor = multiplier * self.list_bound(parent.name, selection, definition)
                total += factor
                outer_limit = self.slice_limit
                if (parent.name, name) == ("Query", "graphSlice"):
                    self.graph_slices += 1
                    depth = self.number(selection, "depth", self.bounds.graph_slice_depth)
                    self.slice_limit = self.number(
                        selection, "limit", self.bounds.graph_slice_limit
                    )
                    total += factor * self.slice_limit * depth
                if (parent.name, name) == ("Mutation", "importWorks"):
                    given = self.argument(selection, "input")
                    records = given.get("records") if isinstance(given, dict) else None
                    if isinstance(records, list):
                        self.import_records = max(1, len(records))
                if selection.selection_set:
                    child = get_named_type(definition.type)
                    total += self.cost(selection.selection_set, child, factor, seen)
                self.slice_limit = outer_limit
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition:
                    target = self.schema.get_type(selection.type_condition.name.value) or parent
                total += self.cost(selection.selection_set, target, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.cost(fragment.selection_set, target, multiplier, seen | {name})
        return total


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    bounds: Bounds,
) -> tuple[int, int]:
    """The operation's cost and how many graph slices it asks for."""
    root: GraphQLObjectType | GraphQLInterfaceType | None = schema.get_root_type(
        operation.operation
    )
    # Variable defaults written in the operation apply when the request leaves them out.
    resolved = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in resolved and isinstance(definition.default_value, IntValueNode):
            resolved[name] = int(definition.default_value.value)
    walker = _CostWalker(schema, fragments, resolved, bounds)
    return walker.cost(operation.selection_set, root, 1), walker.graph_slices


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class CostLimit(SchemaExtension):
    def __init__(self, *, max_cost: int, bounds: Bounds, graph_slices: int) -> None:
        self.max_cost = max_cost
        self.bounds = bounds
        self.graph_slices = graph_slices

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.result is None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            operation = next(
                (
                    op
                    for op in operations
                    if ctx.operation_name is None
                    or (op.name and op.name.value == ctx.operation_name)
                ),
                None,
            )
            if operation is not None:
                cost, slices = operation_cost(
                    ctx.schema._schema,
                    operation,
                    fragments,
                    ctx.variables or {},
                    self.bounds,
                )
                error = None
                if slices > self.graph_slices:
                    error = QueryTooComplex(
                        f"The operation asks for {slices} graph slices; at most "
                        f"{self.graph_slices} per operation.",
                        cost=cost,
                        maxCost=self.max_cost,
                    )
                elif cost > self.max_cost:
                    error = QueryTooComplex(
                        f"Query cost {cost} exceeds the limit of {self.max_cost} (the product of "
                        "list sizes along each path, summed).",
                        cost=cost,
                        maxCost=self.max_cost,
                    )
                if error is not None:
                    if ctx.operation_type is OperationType.SUBSCRIPTION:
                        # strawberry subscribes without looking at a result set here; an
                        # error raised in this hook becomes the stream's one error result.
                        raise error
                    ctx.result = GraphQLExecutionResult(
                        data=None, errors=[GraphQLError(error.message, original_error=error)]
                    )
        yield
