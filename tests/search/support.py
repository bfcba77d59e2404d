"""What the search tests share: a GraphQL client on one kept-alive connection."""

from __future__ import annotations

from typing import Any

import httpx


class Api:
    """``LiveServer.graphql`` on one kept-alive connection (a new client per request would
    cost more than most of these requests)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body
