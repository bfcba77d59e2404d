"""Every root of the schema fuzzed through a real server, anonymous and signed in: whatever the
arguments (generated from ``schema.graphql`` by hypothesis-graphql, odd scalars included), the
answer is a GraphQL response with a stable code, never an HTTP 5xx or INTERNAL_SERVER_ERROR."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from graphql import build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from tests.accounts.conftest import Site
from tests.accounts.test_viewer_actions import email
from tests.support import REPO, http_client

SCHEMA = build_schema((REPO / "schema.graphql").read_text())
ODD_TEXT = st.text(max_size=40)
SCALARS = {
    "Date": st.one_of(st.dates().map(dt.date.isoformat), ODD_TEXT).map(nodes.String),
    "DateTime": st.one_of(
        st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat), ODD_TEXT
    ).map(nodes.String),
    "JSON": st.one_of(
        ODD_TEXT.map(nodes.String),
        st.integers(-(2**70), 2**70).map(nodes.Int),
        st.booleans().map(nodes.Boolean),
    ),
}
ROOTS = {
    "Query": sorted(SCHEMA.query_type.fields) if SCHEMA.query_type else [],
    "Mutation": sorted(SCHEMA.mutation_type.fields) if SCHEMA.mutation_type else [],
}
EXAMPLES = 60
"""Per root and caller, per backend: about 500 requests in all."""


def operations(root: str) -> st.SearchStrategy[Any]:
    """Valid operations on the root's fields with arbitrary arguments (NUL included)."""
    generate = queries if root == "Query" else mutations
    return generate(SCHEMA, fields=ROOTS[root], custom_scalars=SCALARS, allow_x00=True)


def assert_answered(response: httpx.Response, operation: str) -> None:
    assert response.status_code < 500, (response.status_code, operation, response.text[:500])
    body = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes, (operation, body)
    assert "data" in body or codes, (operation, body)


@pytest.fixture(scope="module")
def signed_in(site: Site) -> str:
    return site.account(email())


@pytest.mark.parametrize("root", sorted(ROOTS))
@pytest.mark.parametrize("caller", ["anonymous", "signed in"])
def test_no_operation_gets_an_internal_error(
    site: Site, signed_in: str, root: str, caller: str
) -> None:
    headers = {"authorization": f"Bearer {signed_in}"} if caller == "signed in" else {}
    with http_client(base_url=site.server.base_url, headers=headers, timeout=30) as client:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,  # the same operations every run: a failure reproduces
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        )
        @given(operation=operations(root))
        def answered(operation: str) -> None:
            assert_answered(client.post("/graphql", json={"query": operation}), operation)

        answered()
