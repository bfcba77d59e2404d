"""The researchers' name words on PostgreSQL (migration 0016), from which the search box reads
the best holders of a one-word text instead of ranking all of them: the triggers keep the
table equal to what the names say through imports (a bulk one's at its derive), renames,
merges and deletions; and the
search box, walked page by page, lists exactly the researchers a full ranking lists (each name
scored as ``service.search.scoring`` scores it, pg_trgm's twin), in the same order."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import text

from service.db.engine import create_engine, create_sessionmaker
from service.graphql.relay import from_global_id
from service.imports.openalex.importer import derive_if_pending
from service.search.pending import INDEX_PENDING_RESEARCHERS, index_pending_chunk
from service.search.scoring import name_matches, name_score, name_tier
from tests.imports.support import MEMBER_FILE, execute, fetch, import_into
from tests.search.test_work_vectors import import_without_derive, wait_until_blocked_by
from tests.support import LiveServer, contract, settings_for

SEARCH_BOX = contract("search_box.graphql")
WORDS = "SELECT word, tier, researcher_id FROM search_researcher_words"
PENDING = "SELECT count(*) FROM search_researcher_pending"


def expected_words(url: str) -> set[tuple[str, int, int]]:
    """Each distinct word of each unmerged name, with the name's tier for that word alone."""
    names = fetch(url, "SELECT id, search_name FROM researchers WHERE merged_into_id IS NULL")
    return {
        (word, name_tier(word, name), researcher_id)
        for researcher_id, name in names
        for word in set(name.split(" "))
        if word
    }


@pytest.fixture(scope="session")
def backend() -> str:
    """The KFUPM records (``imported_url``, ``live``) on PostgreSQL only: the table is its own
    (SQLite ranks its candidates in full)."""
    return "postgresql"


def test_a_bulk_import_writes_every_name_word(imported_url: str) -> None:
    found = set(fetch(imported_url, WORDS))
    assert found == expected_words(imported_url)
    assert {tier for _, tier, _ in found} == {1, 2, 3}
    assert fetch(imported_url, PENDING) == [(0,)]


def test_a_bulk_import_leaves_the_words_to_its_derive(postgresql_url: str) -> None:
    import_without_derive(postgresql_url, MEMBER_FILE, bulk_threshold=0)
    ((researchers,),) = fetch(postgresql_url, "SELECT count(*) FROM researchers")
    assert fetch(postgresql_url, PENDING) == [(researchers,)]
    assert not fetch(postgresql_url, WORDS)

    assert asyncio.run(derive_if_pending(settings_for(postgresql_url)))
    assert fetch(postgresql_url, PENDING) == [(0,)]
    assert set(fetch(postgresql_url, WORDS)) == expected_words(postgresql_url)


def test_a_researcher_renamed_while_its_words_are_built_keeps_the_new_ones(
    postgresql_url: str,
) -> None:
    import_without_derive(postgresql_url, MEMBER_FILE, bulk_threshold=0)
    asyncio.run(rename_during_indexing(postgresql_url))
    assert fetch(postgresql_url, PENDING) == [(0,)]
    found = set(fetch(postgresql_url, WORDS))
    assert found == expected_words(postgresql_url)
    assert ("quokka", 2) in {(w, t) for w, t, _ in found}


async def rename_during_indexing(url: str) -> None:
    """The indexer has taken the pending researchers and read their names, uncommitted; an API
    writer renames one of them: it must wait for the indexer, then replace the words of the
    name the indexer saw."""
    engine = create_engine(settings_for(url))
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as indexer, sessions() as writer:
            assert await index_pending_chunk(indexer, statement=INDEX_PENDING_RESEARCHERS) > 0
            pid = await indexer.scalar(text("SELECT pg_backend_pid()"))
            renaming = asyncio.ensure_future(
                writer.execute(
                    text(
                        "UPDATE researchers SET search_name = 'quokka burrow' "
                        "WHERE id = (SELECT min(id) FROM researchers)"
                    )
                )
            )
            await wait_until_blocked_by(engine, pid)
            await indexer.commit()
            await renaming
            await writer.commit()
    finally:
        await engine.dispose()


def test_a_small_import_writes_its_words_at_once(postgresql_url: str) -> None:
    import_without_derive(postgresql_url, MEMBER_FILE, bulk_threshold=1_000)
    assert fetch(postgresql_url, PENDING) == [(0,)]
    assert set(fetch(postgresql_url, WORDS)) == expected_words(postgresql_url)


def test_renames_merges_and_deletions_keep_the_words(postgresql_url: str) -> None:
    import_into(postgresql_url, MEMBER_FILE, bulk_threshold=0)
    ids = [row[0] for row in fetch(postgresql_url, "SELECT id FROM researchers ORDER BY id")]
    renamed, merged, survivor = ids[:3]
    execute(
        postgresql_url,
        "UPDATE researchers SET display_name = 'Zed Quux Zed', search_name = 'zed quux zed' "
        "WHERE id = :id",
        id=renamed,
    )
    execute(
        postgresql_url,
        "UPDATE researchers SET merged_into_id = :s WHERE id = :m",
        s=survivor,
        m=merged,
    )
    execute(
        postgresql_url,
        "INSERT INTO researchers (display_name, search_name) VALUES ('Quux', 'quux')",
    )
    # A change the words do not depend on writes nothing.
    execute(postgresql_url, "UPDATE researchers SET works_count = works_count + 1")
    found = set(fetch(postgresql_url, WORDS))
    assert found == expected_words(postgresql_url)
    assert {(w, t) for w, t, r in found if r == renamed} == {("zed", 2), ("quux", 1)}
    assert not [r for _, _, r in found if r == merged]
    assert ("quux", 3) in {(w, t) for w, t, _ in found}

    execute(postgresql_url, "UPDATE researchers SET merged_into_id = NULL WHERE id = :m", m=merged)
    execute(postgresql_url, "DELETE FROM researchers WHERE search_name = 'quux'")
    found = set(fetch(postgresql_url, WORDS))
    assert found == expected_words(postgresql_url)
    assert [r for _, _, r in found if r == merged]


def one_word_searches(url: str) -> list[str]:
    """The two commonest words of the names; the commonest later word that longer first
    words start with (their names rank above its holders: both lists are merged, page by
    page); a common first word's first letters (names starting with longer words, no holder);
    a word of middling frequency; one held by a single name; a common word misspelled (no
    holder, similar names only)."""
    names = [row[0] for row in fetch(url, "SELECT search_name FROM researchers")]
    counts = Counter(word for name in names for word in set(name.split()) if len(word) > 2)
    ranked = [word for word, _ in counts.most_common()]
    first_words = Counter(name.split()[0] for name in names if name)
    later = Counter(w for name in names for w in set(name.split()[1:]) if name_tier(w, name) == 1)
    merged = next(
        word
        for word, holders in later.most_common()
        if holders > 31
        and word.isalpha()
        and any(
            first.startswith(word) and first != word and name_matches(word, name)
            for name in names
            for first in name.split()[:1]
        )
    )
    leading = next(w for w, _ in first_words.most_common() if len(w) > 6)
    rare = next(word for word in reversed(ranked) if word.isalpha())
    common = ranked[0]
    misspelled = common + common[-1]
    return [common, ranked[1], merged, leading[:5], ranked[len(ranked) // 20], rare, misspelled]


def ranked_researchers(names: list[tuple[int, str]], text: str) -> list[int]:
    """Every researcher of ``names`` (id, search name) matching ``text``, best first: the
    search box's order (score scaled as it is, ties by id, highest first)."""
    matching = [
        (name_score(text, name) / 4.0, rid) for rid, name in names if name_matches(text, name)
    ]
    return [rid for _, rid in sorted(matching, reverse=True)]


def walk(server: LiveServer, text: str, first: int) -> list[int]:
    """The researchers of every page of the search box, in order."""
    seen: list[int] = []
    after: str | None = None
    while True:
        body = server.graphql(SEARCH_BOX, {"text": text, "first": first, "after": after})
        page = body["data"]["search"]
        seen += [
            from_global_id(edge["node"]["id"], "Researcher")[1]
            for edge in page["edges"]
            if edge["node"]["__typename"] == "Researcher"
        ]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize("first", [7, 30])
def test_the_search_box_lists_researchers_as_a_full_ranking_would(
    live: LiveServer, imported_url: str, first: int
) -> None:
    searches = one_word_searches(imported_url)
    names = fetch(
        imported_url, "SELECT id, search_name FROM researchers WHERE merged_into_id IS NULL"
    )
    sizes: list[int] = []
    for searched in searches:
        expected = ranked_researchers(names, searched)
        assert walk(live, searched, first) == expected, searched
        sizes.append(len(expected))
    # What the searches cover: many holders, names starting with longer words, no holder.
    assert sizes[0] > 4 * first and sizes[-1] > 0
    tiers = {name_tier(s, name) for s in searches for _, name in names if name_matches(s, name)}
    assert tiers == {0, 1, 2}
