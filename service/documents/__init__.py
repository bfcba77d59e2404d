"""The GraphQL documents our clients send, kept with the service that must serve them.

Each ``*.graphql`` file here is one client's document as it is sent (the web frontend's profile
page, search and viewer actions, integrators' nested queries, the two subscriptions). The tests
validate every one against ``schema.graphql`` and run them against real servers; ``bzpeer serve``
prints the profile page from here. They ship in the package so that a frontend served by the
service uses exactly these.
"""

from __future__ import annotations

from pathlib import Path

from graphql import OperationDefinitionNode, parse

__all__ = ["DOCUMENTS_DIR", "document", "document_names", "operation_names"]

DOCUMENTS_DIR = Path(__file__).resolve().parent
"""The folder holding the ``*.graphql`` documents."""


def document_names() -> list[str]:
    """File names of every document, sorted."""
    return sorted(path.name for path in DOCUMENTS_DIR.glob("*.graphql"))


def document(name: str) -> str:
    """The text of one document, by file name (``"profile_page.graphql"``)."""
    return (DOCUMENTS_DIR / name).read_text()


def operation_names() -> set[str]:
    """The names of every operation the documents hold."""
    names = set()
    for name in document_names():
        for definition in parse(document(name)).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                names.add(definition.name.value)
    return names
