"""The cost limit: the sum, over every field an operation selects, of the product of the page
sizes (``first``/``last``) of the lists above it. Depth, alias and token limits are strawberry's
own extensions; this one needs the variables, so it runs just before execution."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.errors import QueryTooComplex

PAGE_ARGUMENTS = ("first", "last")


class _CostWalker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_page_size = default_page_size

    def page_size(self, field: FieldNode, has_page_arguments: bool) -> int:
        if not has_page_arguments:
            return 1
        for argument in field.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(1, int(value.value))
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int):
                    return max(1, given)
        return self.default_page_size

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
                factor = multiplier * self.page_size(
                    selection, any(a in definition.args for a in PAGE_ARGUMENTS)
                )
                total += factor
                if selection.selection_set:
                    child = get_named_type(definition.type)
                    total += self.cost(selection.selection_set, child, factor, seen)
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
    default_page_size: int,
) -> int:
    root: GraphQLObjectType | GraphQLInterfaceType | None = schema.get_root_type(
        operation.operation
    )
    # Variable defaults written in the operation apply when the request leaves them out.
    resolved = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in resolved and isinstance(definition.default_value, IntValueNode):
            resolved[name] = int(definition.default_value.value)
    walker = _CostWalker(schema, fragments, resolved, default_page_size)
    return walker.cost(operation.selection_set, root, 1)


class CostLimit(SchemaExtension):
    def __init__(self, *, max_cost: int, default_page_size: int) -> None:
        self.max_cost = max_cost
        self.default_page_size = default_page_size

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
                cost = operation_cost(
                    ctx.schema._schema,
                    operation,
                    fragments,
                    ctx.variables or {},
                    self.default_page_size,
                )
                if cost > self.max_cost:
                    error = QueryTooComplex(
                        f"Query cost {cost} exceeds the limit of {self.max_cost} (the product of "
                        "page sizes along each path, summed).",
                        cost=cost,
                        maxCost=self.max_cost,
                    )
                    if ctx.operation_type is OperationType.SUBSCRIPTION:
                        # strawberry subscribes without looking at a result set here; an
                        # error raised in this hook becomes the stream's one error result.
                        raise error
                    ctx.result = GraphQLExecutionResult(
                        data=None, errors=[GraphQLError(error.message, original_error=error)]
                    )
        yield
