"""Search: a work's text holds its topics' names beside its title and abstract, so that finding
the works of a text is one condition of one index.

A work used to match a text through its title and abstract (the GIN index) or through a topic
whose name held the text (a second list, ORed in). For a common word the second list is
large ("data": 564 topics, 102,000 works at 2M works) and, as a condition beside the vector,
it left the planner without an estimate: a broad search could only be answered by finding and
ranking every match (1.27M works for "data"), past the statement timeout. One condition on the
vector is estimated from its statistics, so a common word is read in citation order
(``service.search.repository``'s result window) and a rare one from the index.

PostgreSQL: ``search_work_vector(title, abstract, topics)`` gives the topics' names weight C
after the title (A) and abstract (B); relevance reads A and B only (``ts_rank`` with C at 0),
so scores do not move. Kept by statement triggers on ``work_topics`` (its works reindexed, or
listed as pending inside a bulk import's batch, as in 0015) and on renamed ``topics``.

SQLite: ``search_works`` becomes an FTS5 table with its own content (title, abstract, topics),
kept by row triggers on ``works``, ``work_topics`` and ``topics``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"


def _vector(*parts: tuple[str, str]) -> str:
    weighted = (
        f"setweight(to_tsvector('bzpeer_english', "
        f"translate(coalesce({value}, ''), '{DASHES}', '{'-' * len(DASHES)}')), '{weight}')"
        for value, weight in parts
    )
    return "\n    || ".join(weighted)


VECTOR = _vector(("title", "A"), ("abstract", "B"), ("topics", "C"))
OLD_VECTOR = _vector(("title", "A"), ("abstract", "B"))
# The statement trigger of 0015 on works, now with the works' topic names.
INDEX_WORKS = """
CREATE OR REPLACE FUNCTION search_index_works() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    deferred boolean := coalesce(current_setting('bzpeer.search_deferred', true), '') = 'on';
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF deferred THEN
            INSERT INTO search_work_pending (work_id) SELECT id FROM new_works
            ON CONFLICT DO NOTHING;
        ELSE
            INSERT INTO search_work_vectors (work_id, vector)
            SELECT n.id, search_work_vector(n.title, n.abstract, t.topics)
            FROM new_works n LEFT JOIN search_work_topic_names(ARRAY(SELECT id FROM new_works)) t
                ON t.work_id = n.id
            ON CONFLICT (work_id) DO UPDATE SET vector = excluded.vector;
        END IF;
    ELSIF deferred THEN
        INSERT INTO search_work_pending (work_id)
        SELECT n.id FROM new_works n JOIN old_works o ON o.id = n.id
        WHERE (n.title, n.abstract) IS DISTINCT FROM (o.title, o.abstract)
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO search_work_vectors (work_id, vector)
        SELECT n.id, search_work_vector(n.title, n.abstract, t.topics)
        FROM new_works n JOIN old_works o ON o.id = n.id
        LEFT JOIN search_work_topic_names(ARRAY(SELECT id FROM new_works)) t ON t.work_id = n.id
        WHERE (n.title, n.abstract) IS DISTINCT FROM (o.title, o.abstract)
        ON CONFLICT (work_id) DO UPDATE SET vector = excluded.vector;
    END IF;
    RETURN NULL;
END $$
"""
OLD_INDEX_WORKS = (
    INDEX_WORKS.replace(
        "search_work_vector(n.title, n.abstract, t.topics)",
        "search_work_vector(n.title, n.abstract)",
    )
    .replace(
        " LEFT JOIN search_work_topic_names(ARRAY(SELECT id FROM new_works)) t\n"
        "                ON t.work_id = n.id",
        "",
    )
    .replace(
        "        LEFT JOIN search_work_topic_names(ARRAY(SELECT id FROM new_works)) t ON t.work_id = n.id\n",
        "",
    )
)
ALL_TOPIC_NAMES = """
    LEFT JOIN (
        SELECT wt.work_id, string_agg(tp.display_name, ' ' ORDER BY tp.id) AS topics
        FROM work_topics wt JOIN topics tp ON tp.id = wt.topic_id GROUP BY wt.work_id
    ) t ON t.work_id = w.id
"""
"""Every work's topic names, for a rebuild of every vector."""
SQLITE_TOPIC_NAMES = (
    "(SELECT group_concat(t.display_name, ' ') FROM work_topics wt "
    "JOIN topics t ON t.id = wt.topic_id WHERE wt.work_id = {work})"
)
SQLITE_TRIGGERS = {
    "trg_search_works_insert": "AFTER INSERT ON works BEGIN "
    "INSERT INTO search_works (rowid, title, abstract, topics) VALUES "
    f"(new.id, new.title, new.abstract, {SQLITE_TOPIC_NAMES.format(work='new.id')}); END",
    "trg_search_works_update": "AFTER UPDATE OF title, abstract ON works BEGIN "
    "UPDATE search_works SET title = new.title, abstract = new.abstract "
    "WHERE rowid = new.id; END",
    "trg_search_works_delete": "AFTER DELETE ON works BEGIN "
    "DELETE FROM search_works WHERE rowid = old.id; END",
    "trg_search_work_topics_insert": "AFTER INSERT ON work_topics BEGIN "
    f"UPDATE search_works SET topics = {SQLITE_TOPIC_NAMES.format(work='new.work_id')} "
    "WHERE rowid = new.work_id; END",
    "trg_search_work_topics_delete": "AFTER DELETE ON work_topics BEGIN "
    f"UPDATE search_works SET topics = {SQLITE_TOPIC_NAMES.format(work='old.work_id')} "
    "WHERE rowid = old.work_id; END",
    "trg_search_topics_renamed": "AFTER UPDATE OF display_name ON topics BEGIN "
    f"UPDATE search_works SET topics = {SQLITE_TOPIC_NAMES.format(work='search_works.rowid')} "
    "WHERE rowid IN (SELECT work_id FROM work_topics WHERE topic_id = new.id); END",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_postgresql() -> None:
    # Set-based (a join, inlined by the planner), not a function a row: a bulk import's works
    # are indexed before their tables are analyzed, when a lookup a row was planned as a scan
    # of all of work_topics (1.2 ms a work instead of 0.12).
    op.execute(
        """
        CREATE FUNCTION search_work_topic_names(works bigint[])
        RETURNS TABLE (work_id bigint, topics text)
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT wt.work_id, string_agg(t.display_name, ' ' ORDER BY t.id)
            FROM work_topics wt JOIN topics t ON t.id = wt.topic_id
            WHERE wt.work_id = ANY(works)
            GROUP BY wt.work_id
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION search_work_vector(title text, abstract text, topics text)
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {VECTOR} $$
        """
    )
    op.execute(INDEX_WORKS)
    op.execute("DROP FUNCTION search_work_vector(text, text)")
    # The works of changed topic links, or of renamed topics: reindexed in the statement, or
    # left pending inside a bulk import's batch (its derive indexes them).
    op.execute(
        """
        CREATE FUNCTION search_reindex_works(works bigint[]) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF coalesce(current_setting('bzpeer.search_deferred', true), '') = 'on' THEN
                INSERT INTO search_work_pending (work_id)
                SELECT DISTINCT unnest(works) ORDER BY 1 ON CONFLICT DO NOTHING;
            ELSE
                INSERT INTO search_work_vectors (work_id, vector)
                SELECT w.id, search_work_vector(w.title, w.abstract, t.topics)
                FROM works w LEFT JOIN search_work_topic_names(works) t ON t.work_id = w.id
                WHERE w.id = ANY(works)
                ORDER BY w.id
                ON CONFLICT (work_id) DO UPDATE SET vector = excluded.vector;
            END IF;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION search_index_work_topics() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Links change by insert and delete (an import replaces a work's topics); an
            -- update changes their scores only.
            IF TG_OP = 'INSERT' THEN
                PERFORM search_reindex_works(ARRAY(SELECT work_id FROM new_links));
            ELSE
                PERFORM search_reindex_works(ARRAY(SELECT work_id FROM old_links));
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_links"),
        ("DELETE", "OLD TABLE AS old_links"),
    ):
        op.execute(
            f"CREATE TRIGGER trg_search_work_topics_{event.lower()} AFTER {event} ON work_topics "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION search_index_work_topics()"
        )
    op.execute(
        """
        CREATE FUNCTION search_index_renamed_topics() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM search_reindex_works(ARRAY(
                SELECT wt.work_id FROM work_topics wt
                JOIN new_topics n ON n.id = wt.topic_id JOIN old_topics o ON o.id = n.id
                WHERE n.display_name IS DISTINCT FROM o.display_name
            ));
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER trg_search_topics_renamed AFTER UPDATE ON topics "
        "REFERENCING OLD TABLE AS old_topics NEW TABLE AS new_topics "
        "FOR EACH STATEMENT EXECUTE FUNCTION search_index_renamed_topics()"
    )
    _rebuild_vectors("search_work_vector(w.title, w.abstract, t.topics)", ALL_TOPIC_NAMES)


def _rebuild_vectors(vector: str, joined: str = "") -> None:
    """Every work's vector again, written into a table without its GIN index (built after)."""
    op.execute("DROP INDEX ix_search_work_vectors_vector")
    op.execute("TRUNCATE search_work_vectors")
    op.execute(
        f"INSERT INTO search_work_vectors (work_id, vector) SELECT w.id, {vector} FROM works w "
        f"{joined} WHERE NOT EXISTS (SELECT 1 FROM search_work_pending p WHERE p.work_id = w.id)"
    )
    op.execute(
        "CREATE INDEX ix_search_work_vectors_vector ON search_work_vectors USING gin (vector)"
    )
    op.execute("ANALYZE search_work_vectors")


def _upgrade_sqlite() -> None:
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER trg_search_works_{event}")
    op.execute("DROP TABLE search_works")
    op.execute(
        "CREATE VIRTUAL TABLE search_works USING fts5(title, abstract, topics, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    for name, definition in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    op.execute(
        "INSERT INTO search_works (rowid, title, abstract, topics) "
        f"SELECT id, title, abstract, {SQLITE_TOPIC_NAMES.format(work='works.id')} FROM works"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()


def _downgrade_postgresql() -> None:
    op.execute("DROP TRIGGER trg_search_topics_renamed ON topics")
    op.execute("DROP FUNCTION search_index_renamed_topics()")
    for event in ("insert", "delete"):
        op.execute(f"DROP TRIGGER trg_search_work_topics_{event} ON work_topics")
    op.execute("DROP FUNCTION search_index_work_topics()")
    op.execute("DROP FUNCTION search_reindex_works(bigint[])")
    op.execute(
        f"""
        CREATE FUNCTION search_work_vector(title text, abstract text)
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {OLD_VECTOR} $$
        """
    )
    op.execute(OLD_INDEX_WORKS)
    op.execute("DROP FUNCTION search_work_vector(text, text, text)")
    op.execute("DROP FUNCTION search_work_topic_names(bigint[])")
    _rebuild_vectors("search_work_vector(w.title, w.abstract)")


def _downgrade_sqlite() -> None:
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE search_works")
    op.execute(
        "CREATE VIRTUAL TABLE search_works USING fts5(title, abstract, content='works', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    insert = (
        "INSERT INTO search_works(rowid, title, abstract) VALUES (new.id, new.title, new.abstract);"
    )
    delete = (
        "INSERT INTO search_works(search_works, rowid, title, abstract) "
        "VALUES ('delete', old.id, old.title, old.abstract);"
    )
    op.execute(f"CREATE TRIGGER trg_search_works_insert AFTER INSERT ON works BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER trg_search_works_delete AFTER DELETE ON works BEGIN {delete} END")
    op.execute(
        "CREATE TRIGGER trg_search_works_update AFTER UPDATE OF title, abstract ON works "
        f"BEGIN {delete} {insert} END"
    )
    op.execute("INSERT INTO search_works(search_works) VALUES ('rebuild')")
