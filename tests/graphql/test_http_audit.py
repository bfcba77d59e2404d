"""The graphql-http audit (npm, the GraphQL over HTTP spec's own conformance checks) against a
real server: every check passes, the SHOULDs included (``application/graphql-response+json``
accepted and answered with, request errors as 400 without ``data`` under it)."""

from __future__ import annotations

import json
import shutil
import subprocess

from tests.support import REPO, LiveServer, http_post

AUDIT = REPO / "tests" / "http_audit"


def test_the_audit_passes_without_a_warning(demo_server: LiveServer) -> None:
    node = shutil.which("node")
    assert node, "Node.js runs the audit: scripts/test installs it (nodejs)"
    assert (AUDIT / "node_modules" / "graphql-http").is_dir(), (
        "the audit's packages: scripts/test installs them (npm ci --prefix tests/http_audit)"
    )
    done = subprocess.run(
        [node, str(AUDIT / "audit.mjs"), f"{demo_server.base_url}/graphql"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) > 40  # the audit ran its checks
    assert [r for r in results if r["status"] != "ok"] == []


def test_legacy_clients_still_get_application_json(demo_server: LiveServer) -> None:
    """A client that accepts only application/json keeps 200 with data null on a parse error."""
    for accept, status, media, has_data in (
        ("application/json", 200, "application/json", True),
        ("application/graphql-response+json", 400, "application/graphql-response+json", False),
        ("application/graphql-response+json;q=0, application/json", 200, "application/json", True),
    ):
        response = http_post(
            f"{demo_server.base_url}/graphql",
            json={"query": "{ researchers {"},
            headers={"accept": accept},
        )
        assert response.status_code == status, accept
        assert response.headers["content-type"].startswith(media), accept
        assert ("data" in response.json()) is has_data, accept
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
