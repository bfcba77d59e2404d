"""Keyset cursors of the search lists stay exact while rows are added: on the KFUPM OpenAlex
records, every order of ``researchers`` (RELEVANCE, NAME, WORKS, TRUST, FOLLOWERS), of ``works``
(RELEVANCE, YEAR, CITATIONS) and the search box's mixed list is walked a small page at a time,
with rows that match the same search written between pages (the way another client's writes
land). A walk lists no item twice and every item that existed when it started exactly once, in
its order; an added row is listed exactly when it sorts after the cursor it was added behind.
Walked backwards with ``last``/``before``, a list gives the same items reversed."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db.engine import create_engine, create_sessionmaker
from service.graphql.relay import to_global_id
from service.researchers.models import Researcher
from service.researchers.names import fold_name
from service.search.scoring import name_tier
from service.trust.models import TrustSnapshot
from service.trust.score import TrustBand, VerificationLevel
from service.works.models import Work, WorkType
from tests.search.support import Api
from tests.support import settings_for

NAME = "omar"
"""What the researcher lists search for: about two dozen imported names on either backend."""
TEXT = "asphaltene"
"""What the work lists and the search box search for: a few dozen imported works."""
PAGE = 7
MAX_PAGES = 40
"""A walk longer than this has lost its way (the lists hold under a hundred items)."""

RESEARCHERS = """
query($search: String, $order: ResearcherOrder, $first: Int, $after: String, $last: Int,
      $before: String) {
  researchers(search: $search, orderBy: $order, first: $first, after: $after, last: $last,
              before: $before) {
    pageInfo { hasNextPage hasPreviousPage }
    edges { cursor node { id displayName counts { works followers } trust { score } } }
  }
}
"""
WORKS = """
query($search: String, $order: WorkOrder, $first: Int, $after: String, $last: Int,
      $before: String) {
  works(search: $search, orderBy: $order, first: $first, after: $after, last: $last,
        before: $before) {
    pageInfo { hasNextPage hasPreviousPage }
    edges { cursor node { id title publicationYear citedByCount } }
  }
}
"""
SEARCH = """
query($search: String!, $first: Int, $after: String, $last: Int, $before: String) {
  search(text: $search, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage }
    edges { cursor node { __typename ... on Node { id } } }
  }
}
"""
COUNTED = {
    "researchers": "query($search: String) { researchers(search: $search) { totalCount } }",
    "works": "query($search: String) { works(search: $search) { totalCount } }",
    "search": "query($search: String!) { search(text: $search) { totalCount } }",
}


# -- rows written during a walk ---------------------------------------------------------------


@dataclass(frozen=True)
class NewResearcher:
    name: str
    works: int = 0
    followers: int = 0
    trust: int | None = None
    """The current trust score; None: no snapshot yet (sorts below every score)."""


@dataclass(frozen=True)
class NewWork:
    title: str
    abstract: str | None = None
    year: int | None = 2020
    citations: int = 0


Row = NewResearcher | NewWork


class Writer:
    """Writes rows straight through the models on an engine of its own (another client of the
    same database), remembers them, and deletes them again."""

    def __init__(self, url: str) -> None:
        self.runner = asyncio.Runner()
        self.engine: AsyncEngine = create_engine(settings_for(url), maintenance=True)
        self.researcher_ids: list[int] = []
        self.work_ids: list[int] = []

    def add(self, rows: Sequence[Row]) -> list[str]:
        """The rows, committed at once; their global ids, in order."""
        return self.runner.run(self._add(rows))

    async def _add(self, rows: Sequence[Row]) -> list[str]:
        async with create_sessionmaker(self.engine)() as session, session.begin():
            models: list[Researcher | Work] = []
            for row in rows:
                if isinstance(row, NewResearcher):
                    models.append(
                        Researcher(
                            display_name=row.name,
                            search_name=fold_name(row.name),
                            works_count=row.works,
                            followers_count=row.followers,
                        )
                    )
                else:
                    models.append(
                        Work(
                            title=row.title,
                            abstract=row.abstract,
                            type=WorkType.ARTICLE,
                            publication_year=row.year,
                            cited_by_count=row.citations,
                        )
                    )
            session.add_all(models)
            await session.flush()
            for row, model in zip(rows, models, strict=True):
                if isinstance(row, NewResearcher) and row.trust is not None:
                    session.add(
                        TrustSnapshot(
                            researcher_id=model.id,
                            score=row.trust,
                            band=TrustBand.EMERGING,
                            verification_level=VerificationLevel.L1,
                            claimed=False,
                            factors=[],
                        )
                    )
        ids: list[str] = []
        for model in models:
            if isinstance(model, Researcher):
                self.researcher_ids.append(model.id)
                ids.append(to_global_id("Researcher", model.id))
            else:
                self.work_ids.append(model.id)
                ids.append(to_global_id("Work", model.id))
        return ids

    def remove_added(self) -> None:
        self.runner.run(self._remove())
        self.researcher_ids.clear()
        self.work_ids.clear()

    async def _remove(self) -> None:
        async with create_sessionmaker(self.engine)() as session, session.begin():
            if self.researcher_ids:
                await session.execute(
                    delete(TrustSnapshot).where(
                        TrustSnapshot.researcher_id.in_(self.researcher_ids)
                    )
                )
                await session.execute(
                    delete(Researcher).where(Researcher.id.in_(self.researcher_ids))
                )
            if self.work_ids:
                await session.execute(delete(Work).where(Work.id.in_(self.work_ids)))

    def close(self) -> None:
        self.runner.run(self.engine.dispose())
        self.runner.close()


@pytest.fixture
def writer(imported_url: str) -> Iterator[Writer]:
    """Rows a test adds are deleted after it, so that each test starts from the import."""
    writer = Writer(imported_url)
    try:
        yield writer
    finally:
        writer.remove_added()
        writer.close()


# -- lists and walks --------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One ordered list: its document, field and variables, whether it sorts highest first,
    and what a node shows of its sort key (None: only the cursor shows it)."""

    field: str
    document: str
    variables: dict[str, Any]
    descending: bool = True
    shown_key: Callable[[dict[str, Any]], Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.field}-{self.variables.get('order', 'BEST')}"


def researchers(order: str, shown_key: Callable[[dict[str, Any]], Any] | None) -> Listing:
    return Listing(
        "researchers",
        RESEARCHERS,
        {"search": NAME, "order": order},
        descending=order != "NAME",
        shown_key=shown_key,
    )


def works(order: str, shown_key: Callable[[dict[str, Any]], Any] | None) -> Listing:
    return Listing("works", WORKS, {"search": TEXT, "order": order}, shown_key=shown_key)


LISTINGS = {
    "researchers-RELEVANCE": researchers(
        "RELEVANCE", lambda node: name_tier(NAME, fold_name(node["displayName"]))
    ),
    "researchers-NAME": researchers("NAME", lambda node: fold_name(node["displayName"])),
    "researchers-WORKS": researchers("WORKS", lambda node: node["counts"]["works"]),
    "researchers-TRUST": researchers(
        "TRUST", lambda node: node["trust"]["score"] if node["trust"] else -1
    ),
    "researchers-FOLLOWERS": researchers("FOLLOWERS", lambda node: node["counts"]["followers"]),
    "works-RELEVANCE": works("RELEVANCE", None),
    "works-YEAR": works("YEAR", lambda node: node["publicationYear"] or 0),
    "works-CITATIONS": works("CITATIONS", lambda node: node["citedByCount"]),
    "search": Listing("search", SEARCH, {"search": TEXT}),
}


def cursor_key(cursor: str) -> tuple[Any, ...]:
    """The sort key a cursor carries: base64url JSON of ``[ordering, *key]``."""
    values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return tuple(values[1:])


@dataclass
class Item:
    id: str
    key: tuple[Any, ...]
    node: dict[str, Any]


@dataclass
class Walk:
    items: list[Item] = field(default_factory=list)
    added: list[tuple[int, list[str]]] = field(default_factory=list)
    """Rows written during the walk: (items listed before the write, their ids)."""

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]


def page_of(api: Api, listing: Listing, **paging: Any) -> dict[str, Any]:
    body = api.graphql(listing.document, listing.variables | paging)
    assert "errors" not in body, body["errors"]
    connection: dict[str, Any] = body["data"][listing.field]
    return connection


def items_of(connection: dict[str, Any]) -> list[Item]:
    return [
        Item(edge["node"]["id"], cursor_key(edge["cursor"]), edge["node"])
        for edge in connection["edges"]
    ]


def whole(api: Api, listing: Listing) -> list[Item]:
    """The list in one page, as it is now."""
    connection = page_of(api, listing, first=100)
    assert not connection["pageInfo"]["hasNextPage"], "the list outgrew one page"
    return items_of(connection)


def walk_forward(
    api: Api, listing: Listing, between: Callable[[int], list[str]] | None = None
) -> Walk:
    """Every page of ``PAGE`` items, first to last; ``between(n)`` (n: pages read) writes rows
    before each next page and returns their ids."""
    walk = Walk()
    after: str | None = None
    for pages in itertools.count(1):
        assert pages <= MAX_PAGES, f"{listing.name}: still walking after {MAX_PAGES} pages"
        connection = page_of(api, listing, first=PAGE, after=after)
        walk.items.extend(items_of(connection))
        if not connection["pageInfo"]["hasNextPage"]:
            return walk
        assert len(connection["edges"]) == PAGE, "a page short of `first` that has a next one"
        after = connection["edges"][-1]["cursor"]
        if between is not None:
            walk.added.append((len(walk.items), between(pages)))
    raise AssertionError("unreachable")


def walk_backward(api: Api, listing: Listing) -> list[Item]:
    """Every page of ``PAGE`` items, last to first, put back in list order."""
    pages: list[list[Item]] = []
    before: str | None = None
    while True:
        assert len(pages) < MAX_PAGES, f"{listing.name}: still walking after {MAX_PAGES} pages"
        connection = page_of(api, listing, last=PAGE, before=before)
        pages.append(items_of(connection))
        if not connection["pageInfo"]["hasPreviousPage"]:
            return [item for page in reversed(pages) for item in page]
        assert len(connection["edges"]) == PAGE, "a page short of `last` with a previous one"
        before = connection["edges"][0]["cursor"]


def assert_in_order(listing: Listing, items: Sequence[Item]) -> None:
    """Cursor keys strictly monotone (ties broken by id), and what nodes show of the key."""
    for first, second in itertools.pairwise(items):
        if listing.descending:
            assert first.key > second.key, (listing.name, first, second)
        else:
            assert first.key < second.key, (listing.name, first, second)
        if listing.shown_key is not None:
            a, b = listing.shown_key(first.node), listing.shown_key(second.node)
            assert (a >= b) if listing.descending else (a <= b), (listing.name, a, b)


def assert_exact_walk(
    listing: Listing, before: Sequence[str], walk: Walk, after: list[str]
) -> None:
    """``before``: the list when the walk started; ``after``: the list once it ended (rows
    added by the walk included). Nothing twice, nothing that was there missed, the list's
    order kept, and an added row listed exactly when it sorts after the cursor of the page
    it was added behind."""
    listed = walk.ids
    assert len(listed) == len(set(listed)), f"{listing.name}: listed twice"
    missing = set(before) - set(listed)
    assert not missing, f"{listing.name}: {len(missing)} of {len(before)} items never listed"
    place = {item: i for i, item in enumerate(after)}
    every_added = {i for _, ids in walk.added for i in ids}
    assert every_added <= set(place), f"{listing.name}: an added row does not match the search"
    assert set(listed) <= set(place), f"{listing.name}: listed what the list does not hold"
    assert [place[i] for i in listed] == sorted(place[i] for i in listed), (
        f"{listing.name}: listed out of the list's order"
    )
    for count, ids in walk.added:
        cursor = place[listed[count - 1]]
        for row in ids:
            assert (row in listed) is (place[row] > cursor), (
                f"{listing.name}: a row added behind item {count} "
                + ("was listed before the cursor" if row in listed else "was skipped")
            )


# -- what each walk writes between pages --------------------------------------------------------


def rows_for(name: str, page: int) -> list[Row]:
    """Rows that match the list's search and sort before the cursor, near it, and at the end.
    Each carries the page number so that no two share a name or title."""
    tag = f"Zq{page}"
    if name == "researchers-RELEVANCE":
        return [
            NewResearcher("Omar", works=page),  # the whole name: the best match
            NewResearcher(f"Omar {tag}", works=1),
            NewResearcher(f"Al-Omar {tag}"),  # a word of the name, not after a space
        ]
    if name == "researchers-NAME":
        return [
            NewResearcher(f"Aaa Omar {tag}"),
            NewResearcher(f"Omar Mid {tag}"),
            NewResearcher(f"Zzz Omar {tag}"),
        ]
    if name == "researchers-WORKS":
        return [
            NewResearcher(f"Omar Top {tag}", works=10_000 + page),
            NewResearcher(f"Omar Mid {tag}", works=2),
            NewResearcher(f"Omar Low {tag}", works=0),
        ]
    if name == "researchers-TRUST":
        return [
            NewResearcher(f"Omar Top {tag}", trust=100),
            NewResearcher(f"Omar Mid {tag}", trust=12),
            NewResearcher(f"Omar Low {tag}"),
        ]
    if name == "researchers-FOLLOWERS":
        return [
            NewResearcher(f"Omar Top {tag}", followers=10_000),
            NewResearcher(f"Omar Mid {tag}", followers=5),
            NewResearcher(f"Omar Low {tag}", followers=0),
        ]
    if name == "works-RELEVANCE":
        return [
            NewWork("Asphaltene", citations=10**6),
            NewWork(f"Asphaltene deposition in pipelines {tag}", citations=3),
            NewWork(f"Deposits in pipelines {tag}", abstract="We weigh the asphaltene content."),
        ]
    if name == "works-YEAR":
        return [
            NewWork(f"Asphaltene outlook {tag}", year=2100),
            NewWork(f"Asphaltene survey {tag}", year=2015),
            NewWork(f"Asphaltene archive {tag}", year=None),
        ]
    if name == "works-CITATIONS":
        return [
            NewWork(f"Asphaltene classic {tag}", citations=10**6),
            NewWork(f"Asphaltene note {tag}", citations=10),
            NewWork(f"Asphaltene preprint {tag}", citations=0),
        ]
    assert name == "search"
    return [
        NewResearcher("Asphaltene"),  # a name equal to the text: the best of every kind
        NewWork(f"Asphaltene deposition in pipelines {tag}"),
        NewResearcher(f"Al-Asphaltene {tag}"),
        NewWork(f"Deposits in pipelines {tag}", abstract="We weigh the asphaltene content."),
    ]


SETUP: dict[str, list[Row]] = {
    # Imported researchers have no followers: some that do give the list a head to walk.
    "researchers-FOLLOWERS": [NewResearcher(f"Omar Fan {i}", followers=i) for i in range(1, 11)],
}
"""Rows written before a walk starts (they are part of the list it must list in full)."""


class TestForwardUnderInserts:
    @pytest.mark.parametrize("name", list(LISTINGS))
    def test_every_item_once_in_order(self, api: Api, writer: Writer, name: str) -> None:
        listing = LISTINGS[name]
        if name in SETUP:
            writer.add(SETUP[name])
        before = [item.id for item in whole(api, listing)]
        assert len(before) >= 2 * PAGE, f"{name}: too short a list to walk"

        walk = walk_forward(api, listing, lambda page: writer.add(rows_for(name, page)))

        assert len(walk.added) >= 2
        assert_in_order(listing, walk.items)
        assert_exact_walk(listing, before, walk, [item.id for item in whole(api, listing)])
        added = [i for _, ids in walk.added for i in ids]
        listed = set(walk.ids)
        # The rows sort on both sides of the cursors, so both cases are exercised.
        assert any(i in listed for i in added), f"{name}: no added row sorted after a cursor"
        assert any(i not in listed for i in added), f"{name}: every added row sorted after"


class TestBackward:
    @pytest.mark.parametrize("name", ["researchers-RELEVANCE", "search"])
    def test_same_items_reversed(self, api: Api, name: str) -> None:
        listing = LISTINGS[name]
        forward = walk_forward(api, listing).items
        backward = walk_backward(api, listing)
        assert [i.id for i in backward] == [i.id for i in forward]
        assert [i.key for i in backward] == [i.key for i in forward]
        assert_in_order(listing, forward)
        counted = api.graphql(COUNTED[listing.field], {"search": listing.variables["search"]})
        assert counted["data"][listing.field]["totalCount"] == len(forward)
