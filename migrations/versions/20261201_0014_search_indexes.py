"""Search: folded names for topics, institutions and venues, the full-text and trigram indexes
of PostgreSQL, the FTS5 tables of SQLite, and the indexes the list orderings walk.

PostgreSQL: ``unaccent``; a text search configuration ``bzpeer_english`` (English stemming
after unaccent); ``works.search_vector``, a stored generated tsvector (title weight A,
abstract B, Unicode dashes as hyphens), with a GIN index; trigram GIN indexes on the folded
names; a GIN index on topic names' tsvectors (a search finds works of a matching topic).

SQLite: FTS5 tables over external content, kept in step by triggers: ``search_works`` (title,
abstract; Porter stemming, diacritics removed) and a trigram table per named entity over its
folded name.

``fold_name`` now transliterates letters Unicode does not decompose (ø, æ, ß, ł, đ ...): the
folded names of researchers holding one are refolded.

Every object here is named ``ix_search_*``, ``search_*`` or ``trg_search_*``: the schema
comparison of models and migrations leaves them out (``service.search.schema_objects``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.researchers.names import fold_name

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMED = ("topics", "institutions", "venues")
FTS_NAMES = {"researchers": "search_researchers"} | {t: f"search_{t}" for t in NAMED}
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# None on researchers' counters: an index on one makes every counter update (each follow, each
# derive) a non-HOT update that writes every index of the row, the name trigrams included (the
# bulk derive of 100k works took 132 s with them, 57 s without).
ORDER_INDEXES = {
    "ix_search_works_citations": ("works", "cited_by_count, id"),
    "ix_search_works_year": ("works", "coalesce(publication_year, 0), id"),
    "ix_search_trust_current_score": ("trust_snapshots", "score, researcher_id"),
}
BATCH = 5000


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in NAMED:
        op.add_column(table, sa.Column("search_name", sa.String(500), nullable=True))
        _fold_names(table)
        with op.batch_alter_table(table) as batch:
            batch.alter_column("search_name", existing_type=sa.String(500), nullable=False)
    _fold_names("researchers")
    for name, (table, columns) in ORDER_INDEXES.items():
        where = " WHERE is_current" if table == "trust_snapshots" else ""
        op.execute(f"CREATE INDEX {name} ON {table} ({columns}){where}")
    if postgresql:
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _fold_names(table: str) -> None:
    """Set ``search_name`` from ``display_name`` by ``fold_name`` (which SQL cannot run) where
    it differs."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column("id"), sa.column("display_name"), sa.column("search_name"))
    last = 0
    while batch := bind.execute(
        sa.select(rows.c.id, rows.c.display_name, rows.c.search_name)
        .where(rows.c.id > last)
        .order_by(rows.c.id)
        .limit(BATCH)
    ).all():
        last = batch[-1].id
        changed = [
            {"key": row.id, "folded": folded}
            for row in batch
            if (folded := fold_name(row.display_name)) != row.search_name
        ]
        if changed:
            bind.execute(
                rows.update()
                .where(rows.c.id == sa.bindparam("key"))
                .values(search_name=sa.bindparam("folded")),
                changed,
            )


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION bzpeer_english (COPY = pg_catalog.english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION bzpeer_english ALTER MAPPING FOR "
        "hword, hword_part, word WITH unaccent, english_stem"
    )
    op.execute(
        f"""
        ALTER TABLE works ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('bzpeer_english',
                                  translate(title, '{DASHES}', '{"-" * len(DASHES)}')), 'A')
            || setweight(to_tsvector('bzpeer_english',
                                     translate(coalesce(abstract, ''), '{DASHES}',
                                               '{"-" * len(DASHES)}')), 'B')
        ) STORED
        """
    )
    op.execute("CREATE INDEX ix_search_works_vector ON works USING gin (search_vector)")
    for table in NAMED:
        op.execute(
            f"CREATE INDEX ix_search_{table}_name_trgm ON {table} "
            "USING gin (search_name gin_trgm_ops)"
        )
    op.execute(
        "CREATE INDEX ix_search_topics_vector ON topics "
        "USING gin (to_tsvector('bzpeer_english', display_name))"
    )


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_works USING fts5(title, abstract, content='works', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    _sync_triggers("works", "search_works", ("title", "abstract"))
    for table, fts in FTS_NAMES.items():
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_name, content='{table}', "
            "content_rowid='id', tokenize='trigram')"
        )
        _sync_triggers(table, fts, ("search_name",))
    for fts in ("search_works", *FTS_NAMES.values()):
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _sync_triggers(table: str, fts: str, columns: Sequence[str]) -> None:
    """The triggers SQLite's FTS5 documentation gives for an external content table."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    delete = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    op.execute(f"CREATE TRIGGER trg_{fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER trg_{fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
    op.execute(
        f"CREATE TRIGGER trg_{fts}_update AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {delete} {insert} END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NAMED:
            op.execute(f"DROP INDEX ix_search_{table}_name_trgm")
        op.execute("DROP INDEX ix_search_topics_vector")
        op.execute("ALTER TABLE works DROP COLUMN search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION bzpeer_english")
    else:
        for fts in ("search_works", *FTS_NAMES.values()):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER trg_{fts}_{event}")
            op.execute(f"DROP TABLE {fts}")
    for name, (table, _) in ORDER_INDEXES.items():
        op.drop_index(name, table_name=table)
    for table in NAMED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("search_name")
