"""Search: the works' text vectors move from a generated column of ``works`` to a table of their
own, kept by statement triggers, so that a bulk import can leave them to the bulk derive.

Computing a tsvector and inserting it into the GIN index, row by row in every import batch,
cost the bulk import about 0.22 ms of PostgreSQL's CPU a work (about 40% of its throughput).
Built afterwards in one pass (``service.search.pending``) the same vectors take about 0.12 ms a
work, on a core the derive leaves idle. A transaction that sets ``bzpeer.search_deferred`` to
``on`` (a bulk import's batch) has its new and changed works listed in ``search_work_pending``
instead; every other writer indexes its works in the same statement as before.

PostgreSQL only: on SQLite the FTS5 tables of migration 0014 stay as they are.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
VECTOR = f"""
    setweight(to_tsvector('bzpeer_english',
                          translate(title, '{DASHES}', '{"-" * len(DASHES)}')), 'A')
    || setweight(to_tsvector('bzpeer_english',
                             translate(coalesce(abstract, ''), '{DASHES}',
                                       '{"-" * len(DASHES)}')), 'B')
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION search_work_vector(title text, abstract text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {VECTOR} $$
        """
    )
    op.execute(
        """
        CREATE TABLE search_work_vectors (
            work_id bigint PRIMARY KEY REFERENCES works (id) ON DELETE CASCADE,
            vector tsvector NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE search_work_pending (
            work_id bigint PRIMARY KEY REFERENCES works (id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        "INSERT INTO search_work_vectors (work_id, vector) SELECT id, search_vector FROM works"
    )
    op.execute("DROP INDEX ix_search_works_vector")
    op.execute("ALTER TABLE works DROP COLUMN search_vector")
    op.execute(
        "CREATE INDEX ix_search_work_vectors_vector ON search_work_vectors USING gin (vector)"
    )
    # One statement trigger a statement (COPY included), reading the rows it wrote from its
    # transition tables: a batch of 1,000 works is indexed by one INSERT ... SELECT.
    op.execute(
        """
        CREATE FUNCTION search_index_works() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            deferred boolean := coalesce(current_setting('bzpeer.search_deferred', true), '')
                                = 'on';
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF deferred THEN
                    INSERT INTO search_work_pending (work_id) SELECT id FROM new_works
                    ON CONFLICT DO NOTHING;
                ELSE
                    INSERT INTO search_work_vectors (work_id, vector)
                    SELECT id, search_work_vector(title, abstract) FROM new_works
                    ON CONFLICT (work_id) DO UPDATE SET vector = excluded.vector;
                END IF;
            ELSIF deferred THEN
                INSERT INTO search_work_pending (work_id)
                SELECT n.id FROM new_works n JOIN old_works o ON o.id = n.id
                WHERE (n.title, n.abstract) IS DISTINCT FROM (o.title, o.abstract)
                ON CONFLICT DO NOTHING;
            ELSE
                INSERT INTO search_work_vectors (work_id, vector)
                SELECT n.id, search_work_vector(n.title, n.abstract)
                FROM new_works n JOIN old_works o ON o.id = n.id
                WHERE (n.title, n.abstract) IS DISTINCT FROM (o.title, o.abstract)
                ON CONFLICT (work_id) DO UPDATE SET vector = excluded.vector;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER trg_search_works_insert AFTER INSERT ON works "
        "REFERENCING NEW TABLE AS new_works "
        "FOR EACH STATEMENT EXECUTE FUNCTION search_index_works()"
    )
    op.execute(
        "CREATE TRIGGER trg_search_works_update AFTER UPDATE ON works "
        "REFERENCING OLD TABLE AS old_works NEW TABLE AS new_works "
        "FOR EACH STATEMENT EXECUTE FUNCTION search_index_works()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER trg_search_works_update ON works")
    op.execute("DROP TRIGGER trg_search_works_insert ON works")
    op.execute("DROP FUNCTION search_index_works()")
    op.execute(
        f"ALTER TABLE works ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    op.execute("CREATE INDEX ix_search_works_vector ON works USING gin (search_vector)")
    op.execute("DROP TABLE search_work_pending")
    op.execute("DROP TABLE search_work_vectors")
    op.execute("DROP FUNCTION search_work_vector(text, text)")
