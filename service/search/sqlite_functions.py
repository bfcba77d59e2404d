"""The scoring functions the SQLite search statements call (``bzpeer_*``), registered on every
connection of the embedded engine."""

from __future__ import annotations

from typing import Any

from service.search import scoring

FUNCTIONS: dict[str, tuple[int, Any]] = {
    "bzpeer_name_matches": (2, lambda q, name: int(scoring.name_matches(q, name))),
    "bzpeer_name_score": (2, scoring.name_score),
    "bzpeer_text_score": (4, scoring.text_score),
    "bzpeer_has_terms": (2, lambda terms, name: int(scoring.has_terms(terms, name))),
}


def register(dbapi_connection: Any) -> None:
    for name, (arguments, function) in FUNCTIONS.items():
        dbapi_connection.create_function(name, arguments, function, deterministic=True)
