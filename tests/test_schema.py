from __future__ import annotations

import pytest
from graphql import build_schema, parse, validate

from service.cli import SCHEMA_PATH, export_schema_sdl
from service.documents import DOCUMENTS_DIR, document, document_names

CLIENT_DOCUMENTS = (
    "profile_page.graphql",
    "researcher_search.graphql",
    "researcher_lookup.graphql",
    "integrator_nested.graphql",
    "import_works.graphql",
    "graph_slice.graphql",
    "viewer_actions.graphql",
    "follower_updates.graphql",
    "trust_updates.graphql",
)
"""What our clients send: the web frontend's page, search, lookup, graph slice, viewer actions
and subscriptions, and the integrators' nested query and imports. Each must be in
``service/documents``."""


class TestSchema:
    def test_committed_schema_is_current(self) -> None:
        assert SCHEMA_PATH.read_text() == export_schema_sdl(), (
            "schema.graphql is stale: run `bzpeer export-schema`"
        )

    def test_every_client_document_is_kept(self) -> None:
        # Listed by name, so an emptied or renamed folder fails here instead of validating nothing.
        assert set(CLIENT_DOCUMENTS) <= set(document_names()), DOCUMENTS_DIR

    @pytest.mark.parametrize("name", document_names() or ["<no documents found>"])
    def test_document_validates_against_the_committed_schema(self, name: str) -> None:
        schema = build_schema(SCHEMA_PATH.read_text())
        parsed = parse(document(name))
        assert parsed.definitions, f"{name} holds no operation"
        assert [e.message for e in validate(schema, parsed)] == []
