"""What the service shows besides answers: ``/metrics`` for the operator only, operation labels
clients cannot grow, introspection and suggestions under one setting, answers that may carry a
token never cached, and API keys that can be revoked."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from service.app import create_app
from tests.support import (
    LiveServer,
    environment,
    errors_of,
    http_get,
    http_post,
    serve,
    settings_for,
)

TYPO = '{ researcherz(search: "x") { totalCount } }'
INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture(scope="module")
def production(demo_url: str) -> Iterator[LiveServer]:
    app = create_app(settings_for(demo_url, env="production", in_process_workers=False))
    with serve(app) as server:
        yield server


@pytest.fixture(scope="module")
def with_metrics_token(demo_url: str) -> Iterator[LiveServer]:
    settings = settings_for(
        demo_url, env="production", metrics_token="scrape-me", in_process_workers=False
    )
    with serve(create_app(settings)) as server:
        yield server


class TestMetrics:
    def test_not_public_in_production(self, production: LiveServer) -> None:
        assert http_get(f"{production.base_url}/metrics").status_code == 404

    def test_with_a_token_only_for_its_bearer(self, with_metrics_token: LiveServer) -> None:
        url = f"{with_metrics_token.base_url}/metrics"
        assert http_get(url).status_code == 404
        wrong = http_get(url, headers={"authorization": "Bearer guess"})
        assert wrong.status_code == 404
        right = http_get(url, headers={"authorization": "Bearer scrape-me"})
        assert right.status_code == 200 and "bzpeer_graphql_operations_total" in right.text

    def test_operation_labels_cannot_be_grown_by_clients(
        self, with_metrics_token: LiveServer
    ) -> None:
        base = with_metrics_token.base_url
        for n in range(120):
            http_post(f"{base}/graphql", json={"query": f"query Junk{n} {{ viewer {{ id }} }}"})
        http_post(
            f"{base}/graphql",
            json={"query": "query ProfilePage { viewer { id } }", "operationName": "ProfilePage"},
        )
        text = http_get(f"{base}/metrics", headers={"authorization": "Bearer scrape-me"}).text
        labels = set(re.findall(r'bzpeer_graphql_operations_total\{operation="([^"]+)"', text))
        junk = {label for label in labels if label.startswith("Junk")}
        assert len(junk) <= 50 and "other" in labels
        assert "ProfilePage" in labels  # our clients' names stay labelled whatever came first


class TestIntrospectionAndSuggestions:
    def test_off_together_in_production(self, production: LiveServer) -> None:
        assert set(errors_of(production.graphql(INTROSPECTION))) == {"GRAPHQL_VALIDATION_FAILED"}
        typo = production.graphql(TYPO)
        assert errors_of(typo) == ["GRAPHQL_VALIDATION_FAILED"]
        assert "researcher" in typo["errors"][0]["message"]  # it names what was asked
        assert "Did you mean" not in typo["errors"][0]["message"]

    def test_on_together_in_development(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql(INTROSPECTION)
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
        assert "Did you mean" in demo_server.graphql(TYPO)["errors"][0]["message"]

    def test_one_setting_turns_both_on(self, demo_url: str) -> None:
        settings = settings_for(
            demo_url, env="production", introspection=True, in_process_workers=False
        )
        with serve(create_app(settings)) as server:
            assert "errors" not in server.graphql(INTROSPECTION)
            assert "Did you mean" in server.graphql(TYPO)["errors"][0]["message"]


class TestCaching:
    def test_answers_that_may_carry_a_token_are_not_stored(self, demo_server: LiveServer) -> None:
        base = demo_server.base_url
        sign_in = http_post(
            f"{base}/graphql",
            json={
                "query": 'mutation { signIn(input: {email: "a@example.org", password: '
                '"not the password"}) { token } }'
            },
        )
        assert sign_in.headers["cache-control"] == "no-store"
        signed = http_get(
            f"{base}/graphql",
            params={"query": "{ viewer { id } }"},
            headers={"authorization": "Bearer some-token"},
        )
        assert signed.headers["cache-control"] == "no-store"
        public = http_get(f"{base}/graphql", params={"query": "{ researchers { totalCount } }"})
        assert "cache-control" not in public.headers


def bzpeer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class TestApiKeyRevoke:
    IMPORT = "mutation($r: [JSON!]!) { importWorks(input: {records: $r}) { results { status } } }"

    def test_a_revoked_key_stops_working(self, fresh_demo_url: str) -> None:
        env = environment(DATABASE_URL=fresh_demo_url)
        created = bzpeer(env, "api-key", "create", "--name", "nightly")
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        with serve(create_app(settings_for(fresh_demo_url))) as server:

            def importing() -> dict[str, Any]:
                return server.graphql(self.IMPORT, {"r": []}, token=key)

            assert errors_of(importing()) != ["UNAUTHENTICATED"]
            revoked = bzpeer(env, "api-key", "revoke", "--name", "nightly")
            assert revoked.returncode == 0 and "Revoked 1" in revoked.stderr
            assert errors_of(importing()) == ["UNAUTHENTICATED"]
        again = bzpeer(env, "api-key", "revoke", "--name", "nightly")
        assert again.returncode == 1 and "No active API key" in again.stderr
