"""The schema: the root types only compose each domain's queries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.schema import StreamResult
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from service.accounts.schema import AccountMutation, AccountQuery
from service.claims.schema import ClaimMutation
from service.config import Settings
from service.follows.schema import FollowMutation
from service.graph.schema import GraphQuery
from service.graphql.errors import ErrorCodes
from service.graphql.limits import Bounds, CostLimit
from service.graphql.nodes import NodeQuery
from service.graphql.observability import OperationMetrics
from service.graphql.shared_streams import SharedStreams, is_subscription
from service.graphql.socket import SocketConnection, per_operation
from service.graphql.unit_of_work import UnitOfWork
from service.imports.schema import ImportMutation
from service.institutions.schema import InstitutionQuery
from service.invitations.schema import InvitationMutation
from service.live.schema import LiveSubscription
from service.researchers.integrator_plan import INTEGRATOR_NESTED
from service.researchers.profile_plan import PROFILE_PAGE
from service.researchers.schema import ResearcherMutation, ResearcherQuery
from service.search.researcher_plan import RESEARCHER_SEARCH
from service.search.schema import SearchQuery
from service.search.search_box_plan import SEARCH_BOX
from service.search.works_plan import WORKS_SEARCH
from service.topics.schema import TopicQuery
from service.works.schema import WorkQuery

PLANS = (PROFILE_PAGE, INTEGRATOR_NESTED, RESEARCHER_SEARCH, WORKS_SEARCH, SEARCH_BOX)
"""The client documents answered by compiled plans (``plans.py``) once admitted."""


@strawberry.type
class Query(
    ResearcherQuery,
    SearchQuery,
    WorkQuery,
    TopicQuery,
    InstitutionQuery,
    GraphQuery,
    AccountQuery,
    NodeQuery,
):
    pass


@strawberry.type
class Mutation(
    AccountMutation,
    FollowMutation,
    ClaimMutation,
    ResearcherMutation,
    InvitationMutation,
    ImportMutation,
):
    pass


@strawberry.type
class Subscription(LiveSubscription):
    pass


class DocumentCache(ParserCache):
    """strawberry's parser cache, except that a document that does not parse is left to
    strawberry's own parser. ParserCache parses before strawberry's error handling, so a syntax
    error would escape the operation and skip ErrorCodes."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class Schema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_streams = SharedStreams()

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # ErrorCodes logs what needs logging (unexpected errors, once, with the request id);
        # strawberry's default would log every validation error with a traceback.
        return None

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """As strawberry's, but never a subscription: a plain HTTP request has nowhere to
        stream its messages (the view answers 400; subscriptions go over the WebSocket)."""
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        """As strawberry's, except over a WebSocket: an operation gets a context of its own, as
        a request over HTTP does (strawberry shares one per connection), and identical
        subscriptions share one execution (``shared_streams.py``)."""
        if not isinstance(context_value, SocketConnection):
            return await super().stream(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                operation_extensions,
                allowed_operation_types,
            )
        connection = context_value

        async def open_source() -> StreamResult:
            context = connection.operation_context()
            stream = await super(Schema, self).stream(
                query,
                variable_values,
                context,
                root_value,
                operation_name,
                operation_extensions,
                allowed_operation_types,
            )
            return per_operation(stream, context)

        max_tokens = connection.services.settings.max_tokens
        if query is None or not is_subscription(query, operation_name, max_tokens):
            return await open_source()
        key = (
            query,
            orjson.dumps(variable_values or {}, option=orjson.OPT_SORT_KEYS).decode(),
            operation_name,
            connection.identity.key,
        )
        return self.shared_streams.join(key, open_source)


def create_schema(settings: Settings) -> Schema:
    # The limiters build a new rule class per instance, and the validation cache is keyed by the
    # rule classes: build them once, or no validation would ever be served from the cache.
    limit_rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(limit_rules),
        lambda: DocumentCache(maxsize=1_000),
        lambda: ValidationCache(maxsize=1_000),
        lambda: CostLimit(
            max_cost=settings.max_query_cost,
            bounds=Bounds(
                default_page_size=settings.default_page_size,
                authors_per_work=settings.max_authors_per_work,
                import_records=settings.import_max_records,
            ),
            graph_slices=settings.graph_slices_per_operation,
        ),
        UnitOfWork,
        lambda: ErrorCodes(suggestions=settings.introspection_on),
        OperationMetrics,
    ]
    if not settings.introspection_on:
        extensions.insert(0, DisableIntrospection)
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)
