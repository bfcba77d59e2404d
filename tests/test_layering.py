"""Layering that can be checked: services know nothing of GraphQL, SQL stays in repositories
and the db package, workers never reach into the API layer."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPO

SERVICE = REPO / "service"


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


class TestLayering:
    def test_services_and_repositories_do_not_import_strawberry(self) -> None:
        offenders = [
            str(path.relative_to(REPO))
            for pattern in (
                "*/service.py",
                "*/repository.py",
                "*/models.py",
                "*/score.py",
                "*/levels.py",
                "*/clustering.py",
            )
            for path in SERVICE.glob(pattern)
            if any(
                name.split(".")[0] == "strawberry" or name.startswith("service.graphql")
                for name in imports(path)
            )
        ]
        assert offenders == []

    def test_graphql_types_and_schemas_hold_no_sql(self) -> None:
        offenders = [
            str(path.relative_to(REPO))
            for pattern in ("*/types.py", "*/schema.py")
            for path in SERVICE.glob(pattern)
            if any(name == "sqlalchemy" or name.startswith("sqlalchemy.") for name in imports(path))
        ]
        assert offenders == []

    def test_workers_do_not_import_the_api_layer(self) -> None:
        offenders = [
            str(path.relative_to(REPO))
            for path in (REPO / "workers").rglob("*.py")
            if any(
                name.startswith("service.graphql") or name == "service.app"
                for name in imports(path)
            )
        ]
        assert offenders == []

    def test_pure_cores_do_no_io(self) -> None:
        for name in (
            "trust/score.py",
            "trust/levels.py",
            "graph/clustering.py",
            "researchers/names.py",
        ):
            imported = imports(SERVICE / name)
            assert not {"sqlalchemy", "asyncio", "httpx", "redis"} & {
                i.split(".")[0] for i in imported
            }, name
