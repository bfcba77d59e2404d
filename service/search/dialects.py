"""How each database matches and scores text: the SQL expressions the search repository puts
into its statements. PostgreSQL uses pg_trgm and full-text search (migrations 0014, 0015 and
0017); SQLite FTS5 to find candidates and ``scoring.py``'s functions to match and rank them,
so both find and rank alike.

Every value is a bound parameter (``search_parameters``): statement texts depend only on which
filters are set and how many words a name must hold, so that they are built once and prepared
once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    BindParameter,
    ColumnClause,
    ColumnElement,
    Double,
    FromClause,
    Select,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql import column

from service.search.scoring import NAME_WORD_SIMILAR, PHRASE_BONUS, TOPIC_BONUS, WORD_SIMILAR
from service.search.text import SearchText
from service.works.models import Work

QUERY: BindParameter[str] = bindparam("q")
"""The folded search text: what names are compared with."""
PREFIX: BindParameter[str] = bindparam("q_prefix")
WORD_PREFIX: BindParameter[str] = bindparam("q_word_prefix")
WHOLE_WORDS: BindParameter[str] = bindparam("q_words")
"""``% text %``: the text as whole words of a name with a space added at either end."""
AFTER_PREFIX: BindParameter[str] = bindparam("q_after_prefix")
"""Above every word that starts with the text (in byte order)."""
TERMS: BindParameter[str] = bindparam("q_terms")
"""PostgreSQL: the raw text for plainto_tsquery; SQLite: the terms, space-separated."""
PHRASE: BindParameter[str] = bindparam("q_phrase")
POSTGRES_SETTINGS = {
    "pg_trgm.word_similarity_threshold": str(WORD_SIMILAR),
    "pg_trgm.strict_word_similarity_threshold": str(NAME_WORD_SIMILAR),
}
"""What every PostgreSQL connection of the service sets: the thresholds of pg_trgm's ``<%``
(the whole text) and ``<<%`` (each of its ``name_words``), which the trigram index answers."""
WORK_VECTORS = table("search_work_vectors", column("work_id"), column("vector"))
"""PostgreSQL: each work's text vector (migration 0015)."""
TEXT_WEIGHTS: ColumnClause[Any] = literal_column("'{0, 0, 0.4, 1.0}'::float4[]")
"""``ts_rank``'s weights of D, C, B and A: the defaults for title (A) and abstract (B), none for
the topics' names (C), which score ``TOPIC_BONUS`` instead."""
SQLITE_WORK_TEXT = table("search_works", column("rowid"), column("topics"))
"""SQLite: each work's title, abstract and topics' names (FTS5, migration 0017)."""
NAME_WORDS = table(
    "search_researcher_words", column("word"), column("tier"), column("researcher_id")
)
"""PostgreSQL: each word of each unmerged researcher's name, with the name's ``name_tier``
for that word alone (migration 0016)."""


def search_parameters(search: SearchText) -> dict[str, Any]:
    folded = search.folded
    trigrams = search.trigrams()
    return {
        **{f"q_word_{i}": word for i, word in enumerate(search.name_words())},
        "q": folded,
        "q_prefix": f"{folded}%",  # folded text holds letters, digits and spaces only
        "q_word_prefix": f"% {folded}%",
        "q_words": f"% {folded} %",
        "q_after_prefix": f"{folded}\U0010ffff",
        "q_terms": " ".join(search.terms),
        "q_phrase": folded,
        "q_match": " OR ".join(f'"{t}"' for t in trigrams) if trigrams else "",
        "q_match_terms": " AND ".join(f'"{t}"' for t in search.terms),
    }


def spaced(name: Any) -> ColumnElement[str]:
    """The name with a space at either end, for ``WHOLE_WORDS``."""
    spaced: ColumnElement[str] = literal(" ") + name + literal(" ")
    return spaced


def name_tier(name: Any) -> ColumnElement[Any]:
    """``scoring.name_tier`` in SQL."""
    return case(
        (name == QUERY, 3),
        (name.like(PREFIX), 2),
        (spaced(name).like(WHOLE_WORDS), 1),
        else_=0,
    )


@dataclass(frozen=True)
class NamedTable:
    """An entity found by its folded name: its id, its ``search_name`` and SQLite's FTS5
    table over that name."""

    id: Any
    search_name: Any
    fts: str


class TextSearch(Protocol):
    def name_match(self, table: NamedTable, search: SearchText) -> ColumnElement[bool]:
        """Names similar to the text, holding each of its ``name_words``."""

    def name_score(self, table: NamedTable) -> ColumnElement[float]: ...

    def searched_works(self) -> FromClause:
        """The works, with what ``work_match`` and ``work_score`` read beside them."""

    def work_match(self) -> ColumnElement[bool]:
        """Works holding every term of the text in their title, abstract or topics' names
        (migration 0017): one condition of one index."""

    def work_score(self) -> ColumnElement[float]:
        """Title above abstract, ``PHRASE_BONUS`` for the text as a phrase of the title,
        ``TOPIC_BONUS`` when the topics' names hold every term."""

    def among(
        self, column: QueryableAttribute[int] | ColumnClause[Any], ids: Select[Any]
    ) -> ColumnElement[bool]:
        """``column`` is one of the ids ``ids`` selects: a filter (a topic's works) that should
        drive the statement from its own index."""


class PostgresTextSearch:
    def among(
        self, column: QueryableAttribute[int] | ColumnClause[Any], ids: Select[Any]
    ) -> ColumnElement[bool]:
        # `= ANY(ARRAY(...))`, not `IN (...)`: the ids become one value computed first, and the
        # rows are fetched by primary key. As a semi-join the planner may scan every work.
        return column == any_(func.array(ids.scalar_subquery()))

    VECTOR: ColumnClause[Any] = WORK_VECTORS.c.vector
    CONFIG: ColumnClause[Any] = literal_column("'bzpeer_english'::regconfig")

    def _tsquery(self) -> ColumnElement[Any]:
        return func.plainto_tsquery(self.CONFIG, TERMS)

    def name_match(self, table: NamedTable, search: SearchText) -> ColumnElement[bool]:
        # The trigram index answers `<%` and `<<%` (at ``POSTGRES_SETTINGS``'s thresholds),
        # every condition a key of one index scan: a full name's candidates are the holders of
        # all its words, not every namesake of its longest one (15,600 "Pereira" at a million
        # researchers, each fetched and ranked).
        words = [
            bindparam(f"q_word_{i}").op("<<%")(table.search_name)
            for i in range(len(search.name_words()))
        ]
        return and_(QUERY.op("<%")(table.search_name), *words)

    def name_score(self, table: NamedTable) -> ColumnElement[float]:
        score = name_tier(table.search_name) + func.word_similarity(QUERY, table.search_name)
        return cast(score, Double)

    def searched_works(self) -> FromClause:
        # A work not yet indexed (a bulk import's, until its derive) is not found.
        return Work.__table__.join(WORK_VECTORS, WORK_VECTORS.c.work_id == Work.id)

    def work_match(self) -> ColumnElement[bool]:
        return self.VECTOR.op("@@")(self._tsquery())

    def work_score(self) -> ColumnElement[float]:
        query = self._tsquery()
        title = func.ts_filter(self.VECTOR, literal_column("'{a}'::\"char\"[]"))
        topics = func.ts_filter(self.VECTOR, literal_column("'{c}'::\"char\"[]"))
        score = (
            func.ts_rank(TEXT_WEIGHTS, self.VECTOR, query)
            + case(
                (title.op("@@")(func.phraseto_tsquery(self.CONFIG, PHRASE)), PHRASE_BONUS),
                else_=0.0,
            )
            + case((topics.op("@@")(query), TOPIC_BONUS), else_=0.0)
        )
        return cast(score, Double)


class SqliteTextSearch:
    def among(
        self, column: QueryableAttribute[int] | ColumnClause[Any], ids: Select[Any]
    ) -> ColumnElement[bool]:
        return column.in_(ids)

    def name_match(self, table: NamedTable, search: SearchText) -> ColumnElement[bool]:
        if not search.trigrams():  # the trigram index needs three letters: scan for names
            candidates: ColumnElement[bool] = or_(
                table.search_name.like(PREFIX), table.search_name.like(WORD_PREFIX)
            )
        else:
            candidates = table.id.in_(
                text(f"SELECT rowid FROM {table.fts} WHERE {table.fts} MATCH :q_match")
            )
        return and_(candidates, func.bzpeer_name_matches(QUERY, table.search_name) == 1)

    def name_score(self, table: NamedTable) -> ColumnElement[float]:
        return cast(func.bzpeer_name_score(QUERY, table.search_name), Double)

    def searched_works(self) -> FromClause:
        return Work.__table__

    def work_match(self) -> ColumnElement[bool]:
        return Work.id.in_(
            text("SELECT rowid FROM search_works WHERE search_works MATCH :q_match_terms")
        )

    def work_score(self) -> ColumnElement[float]:
        topics = (
            select(SQLITE_WORK_TEXT.c.topics)
            .where(SQLITE_WORK_TEXT.c.rowid == Work.id)
            .scalar_subquery()
        )
        on_topic = func.bzpeer_has_terms(TERMS, func.coalesce(topics, "")) == 1
        score = func.bzpeer_text_score(TERMS, PHRASE, Work.title, Work.abstract)
        return cast(score + case((on_topic, TOPIC_BONUS), else_=0.0), Double)


def text_search(dialect: str) -> TextSearch:
    return PostgresTextSearch() if dialect == "postgresql" else SqliteTextSearch()
