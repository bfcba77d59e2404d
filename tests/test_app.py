from __future__ import annotations

import gc
import json
import subprocess
import sys

from service.app import create_app
from service.config import Settings
from tests.support import (
    REPO,
    LiveServer,
    contract,
    http_post,
    reserved_port,
    serve,
    settings_for,
    wait_until_serving,
)


class TestProbes:
    def test_healthz(self, demo_server: LiveServer) -> None:
        with demo_server.client() as client:
            assert client.get("/healthz").json() == {"status": "ok"}

    def test_readyz(self, demo_server: LiveServer) -> None:
        with demo_server.client() as client:
            response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["database"] == "ok"

    def test_readyz_without_a_database(self) -> None:
        # A port held here and not listening: every connection to it is refused.
        with reserved_port() as port:
            url = f"postgresql://postgres@127.0.0.1:{port}/nothing"
            with serve(create_app(settings_for(url))) as server, server.client() as client:
                response = client.get("/readyz")
                assert response.status_code == 503
                body = server.graphql("{ researchers { totalCount } }")
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


class TestMetrics:
    def test_operations_errors_and_pool(self, demo_server: LiveServer, seed_id: str) -> None:
        demo_server.graphql(contract("profile_page.graphql"), {"id": seed_id})
        demo_server.graphql("{ researchers(first: 1000) { totalCount } }")
        with demo_server.client() as client:
            text = client.get("/metrics").text
        assert 'bzpeer_graphql_operations_total{operation="ProfilePage",type="query"}' in text
        assert 'bzpeer_graphql_operation_duration_seconds_count{operation="ProfilePage"}' in text
        assert 'bzpeer_graphql_errors_total{code="BAD_USER_INPUT"}' in text
        assert "bzpeer_db_pool_checked_out" in text
        assert 'bzpeer_http_requests_total{path="/graphql",status="200"}' in text


class TestRequestIds:
    def test_given_id_is_echoed(self, demo_server: LiveServer) -> None:
        with demo_server.client() as client:
            response = client.get("/healthz", headers={"x-request-id": "trace-12345678"})
        assert response.headers["x-request-id"] == "trace-12345678"

    def test_unsafe_id_is_replaced(self, demo_server: LiveServer) -> None:
        with demo_server.client() as client:
            response = client.get("/healthz", headers={"x-request-id": "bad id; drop"})
        assert response.headers["x-request-id"] != "bad id; drop"
        assert len(response.headers["x-request-id"]) == 32

    def test_one_structured_log_line_per_request(self, demo_url: str, seed_id: str) -> None:
        env = {
            "DATABASE_URL": demo_url,
            "BZPEER_LOG_LEVEL": "INFO",
            # The shared demo database is read-only: this server only reads.
            "BZPEER_IN_PROCESS_WORKERS": "false",
            "PATH": "/usr/bin:/bin",
        }
        with reserved_port() as port:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "service.app:create_app",
                    "--factory",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=REPO,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_until_serving(base, process)
                response = http_post(
                    f"{base}/graphql",
                    json={
                        "query": contract("profile_page.graphql"),
                        "variables": {"id": seed_id},
                        "operationName": "ProfilePage",
                    },
                )
                request_id = response.headers["x-request-id"]
            finally:
                process.terminate()
                try:
                    _, stderr = process.communicate(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    _, stderr = process.communicate(timeout=20)
        lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        (line,) = [entry for entry in lines if entry.get("request_id") == request_id]
        assert line["event"] == "request"
        assert line["status"] == 200
        assert line["operation"] == "ProfilePage"
        assert line["duration_ms"] > 0


def test_startup_objects_are_out_of_the_collectors_view(demo_url: str) -> None:
    """A full collection walked every object of the schema and mappers: ~100 ms pauses that
    made the p99 of the profile page 92 ms instead of 22 (``bench/profile_page.py``)."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    settings = settings_for(demo_url, freeze_startup_objects=True)  # the default
    assert Settings.model_fields["freeze_startup_objects"].default is True
    try:
        with serve(create_app(settings)) as server, server.client() as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 50_000
    finally:
        gc.unfreeze()  # the rest of the suite starts many apps; let their objects be collected
