from __future__ import annotations

import pytest
from graphql import build_schema, parse, validate

from service.cli import SCHEMA_PATH, export_schema_sdl
from tests.support import SHARED

DELIVERED = (
    "profile_page.graphql",
    "researcher_search.graphql",
    "researcher_lookup.graphql",
    "integrator_nested.graphql",
    "graph_slice.graphql",
    "follower_updates.graphql",
    "trust_updates.graphql",
)
"""Contract documents this service serves so far; the others arrive with later issues."""


class TestSchema:
    def test_committed_schema_is_current(self) -> None:
        assert SCHEMA_PATH.read_text() == export_schema_sdl(), (
            "schema.graphql is stale: run `bzpeer export-schema`"
        )

    @pytest.mark.parametrize("name", DELIVERED)
    def test_contract_document_validates(self, name: str) -> None:
        schema = build_schema(SCHEMA_PATH.read_text())
        document = parse((SHARED / "contract" / name).read_text())
        assert [e.message for e in validate(schema, document)] == []

    def test_every_contract_document_parses(self) -> None:
        for path in sorted((SHARED / "contract").glob("*.graphql")):
            parse(path.read_text())
