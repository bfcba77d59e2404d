"""Search: every word of every researcher's name, with the tier the name has when that word
alone is searched, so that the search box finds the best holders of a common word without
ranking them all.

A family name alone matched 15,700 researchers at a million and the search box ranked every
one of them (the trigram index cannot stop at the best ten): 57 ms of SQL, 140 ms at p99. A
name holding the word whole ranks by tier first (3: the name is the word, 2: it starts with
it, 1: a later word is it), then by id, so the best holders are the first entries of this
table's primary key for the word: ``service.search.repository`` reads them from there.

Kept by triggers on ``researchers`` (a statement trigger for inserts, COPY included; a row
trigger for the rare renames and merges); merged records have no words, as they are never
found. A bulk import's batch (``bzpeer.search_deferred``, as in 0015) lists its new researchers
in ``search_researcher_pending`` instead, for its derive (``service.search.pending``): written
in the batches, the words cost the import 13% of its throughput. PostgreSQL only: SQLite
ranks its (small) candidates in full.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The tiers of service.search.dialects' name score, for a search of the word alone.
    op.execute(
        """
        CREATE FUNCTION search_name_words(name text) RETURNS TABLE (word text, tier smallint)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT DISTINCT w, (CASE WHEN w = name THEN 3
                                     WHEN starts_with(name, w) THEN 2
                                     ELSE 1 END)::smallint
            FROM unnest(string_to_array(name, ' ')) AS w
            WHERE w <> ''
        $$
        """
    )
    # Byte order ("C"): a word's prefix range is one stretch of the index in any database
    # collation.
    op.execute(
        """
        CREATE TABLE search_researcher_words (
            word text COLLATE "C" NOT NULL,
            tier smallint NOT NULL,
            researcher_id bigint NOT NULL REFERENCES researchers (id) ON DELETE CASCADE,
            PRIMARY KEY (word, tier, researcher_id)
        )
        """
    )
    op.execute(
        """
        INSERT INTO search_researcher_words (word, tier, researcher_id)
        SELECT w.word, w.tier, r.id
        FROM researchers AS r, search_name_words(r.search_name) AS w
        WHERE r.merged_into_id IS NULL
        """
    )
    op.execute(
        "CREATE INDEX ix_search_researcher_words_researcher_id "
        "ON search_researcher_words (researcher_id)"
    )
    # The words a name starts with: names that start with a longer word than the one searched.
    op.execute(
        "CREATE INDEX ix_search_researcher_words_leading "
        "ON search_researcher_words (word) WHERE tier >= 2"
    )
    op.execute(
        """
        CREATE TABLE search_researcher_pending (
            researcher_id bigint PRIMARY KEY REFERENCES researchers (id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION search_index_new_researchers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF coalesce(current_setting('bzpeer.search_deferred', true), '') = 'on' THEN
                INSERT INTO search_researcher_pending (researcher_id)
                SELECT id FROM new_researchers WHERE merged_into_id IS NULL
                ON CONFLICT DO NOTHING;
            ELSE
                INSERT INTO search_researcher_words (word, tier, researcher_id)
                SELECT w.word, w.tier, n.id
                FROM new_researchers AS n, search_name_words(n.search_name) AS w
                WHERE n.merged_into_id IS NULL;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER trg_search_researchers_insert AFTER INSERT ON researchers "
        "REFERENCING NEW TABLE AS new_researchers "
        "FOR EACH STATEMENT EXECUTE FUNCTION search_index_new_researchers()"
    )
    op.execute(
        """
        CREATE FUNCTION search_reindex_researcher() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Indexed here, not pending. If the bulk derive's indexer has taken the pending
            -- row, this waits for it to commit, then replaces the words it wrote (the next
            -- statement reads them): the indexer locks no researcher, since the derive's own
            -- transaction updates them all and waits for the indexer.
            DELETE FROM search_researcher_pending WHERE researcher_id = OLD.id;
            DELETE FROM search_researcher_words WHERE researcher_id = OLD.id;
            IF NEW.merged_into_id IS NULL THEN
                INSERT INTO search_researcher_words (word, tier, researcher_id)
                SELECT w.word, w.tier, NEW.id FROM search_name_words(NEW.search_name) AS w;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    # A row trigger with a condition: the bulk derive's updates of a million researchers'
    # counters cost a comparison each, not a call.
    op.execute(
        "CREATE TRIGGER trg_search_researchers_update "
        "AFTER UPDATE OF search_name, merged_into_id ON researchers FOR EACH ROW "
        "WHEN (OLD.search_name IS DISTINCT FROM NEW.search_name "
        "OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id) "
        "EXECUTE FUNCTION search_reindex_researcher()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER trg_search_researchers_update ON researchers")
    op.execute("DROP TRIGGER trg_search_researchers_insert ON researchers")
    op.execute("DROP FUNCTION search_reindex_researcher()")
    op.execute("DROP FUNCTION search_index_new_researchers()")
    op.execute("DROP TABLE search_researcher_pending")
    op.execute("DROP TABLE search_researcher_words")
    op.execute("DROP FUNCTION search_name_words(text)")
