"""The search index of the service's own database: every search, filter, ordering and facet
statement. Each returns ids and sort keys (the caller loads the entities through its loaders);
the matching and scoring expressions come from ``dialects.py``.

Relevance is computed from the row and the text alone (never from corpus statistics such as
BM25's), so a row's sort key does not move when others are added and keyset cursors stay
exact under inserts."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.claims.models import Claim, ClaimStatus
from service.db.paging import (
    Ordering,
    Page,
    PageRequest,
    build_page,
    page_parameters,
    page_shape,
    paged,
    statement,
)
from service.institutions.models import Institution
from service.researchers.models import Researcher, ResearcherTopic
from service.search.criteria import (
    Bucket,
    Hit,
    HitKind,
    NamedCriteria,
    NamedFilter,
    NamedKind,
    NameOrder,
    ResearcherCriteria,
    ResearcherFilter,
    ResearcherOrder,
    WorkCriteria,
    WorkFacet,
    WorkFilter,
    WorkOrder,
    shape,
)
from service.search.dialects import (
    AFTER_PREFIX,
    NAME_WORDS,
    QUERY,
    WHOLE_WORDS,
    NamedTable,
    TextSearch,
    name_tier,
    search_parameters,
    spaced,
    text_search,
)
from service.search.text import SearchText
from service.topics.models import Topic
from service.trust.models import TrustSnapshot
from service.works.models import Authorship, AuthorshipInstitution, Venue, Work, WorkTopic

RESEARCHERS = NamedTable(Researcher.id, Researcher.search_name, "search_researchers")
NAMED: dict[NamedKind, tuple[Any, NamedTable]] = {
    NamedKind.TOPIC: (Topic, NamedTable(Topic.id, Topic.search_name, "search_topics")),
    NamedKind.INSTITUTION: (
        Institution,
        NamedTable(Institution.id, Institution.search_name, "search_institutions"),
    ),
    NamedKind.VENUE: (Venue, NamedTable(Venue.id, Venue.search_name, "search_venues")),
}
SCORE = (float, int)
WINDOW: BindParameter[int] = bindparam("window")
"""The most works a search ranks, counts and facets (``WorkCriteria.window``)."""
TRUST_SCORE = func.coalesce(TrustSnapshot.score, -1)
"""A researcher without a trust snapshot sorts below every score (0 is a score)."""
WORK_YEAR = func.coalesce(Work.publication_year, literal_column("0"))


def _relevance(name: str, score: Any, *tiebreaks: Any) -> Ordering:
    return Ordering(name, (score, *tiebreaks), cursor_types=(SCORE,) + (int,) * len(tiebreaks))


class SqlSearchIndex:
    """``SearchIndex`` over the service's PostgreSQL or SQLite database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.text: TextSearch = text_search(self.dialect)

    # -- researchers -------------------------------------------------------------------------

    def researcher_ordering(self, criteria: ResearcherCriteria) -> Ordering:
        order = criteria.order
        if order is ResearcherOrder.RELEVANCE and criteria.text is not None:
            return _relevance(
                "r.relevance",
                self.text.name_score(RESEARCHERS),
                Researcher.works_count,
                Researcher.id,
            )
        if order is ResearcherOrder.WORKS:
            return Ordering(
                "r.works", (Researcher.works_count, Researcher.id), cursor_types=(int, int)
            )
        if order is ResearcherOrder.FOLLOWERS:
            return Ordering(
                "r.followers", (Researcher.followers_count, Researcher.id), cursor_types=(int, int)
            )
        if order is ResearcherOrder.TRUST:
            return Ordering("r.trust", (TRUST_SCORE, Researcher.id), cursor_types=(int, int))
        return Ordering(
            "name",
            (Researcher.search_name, Researcher.id),
            descending=False,
            cursor_types=(str, int),
        )

    def _researchers(self, criteria: ResearcherCriteria) -> Select[Any]:
        f = criteria.filter
        stmt = select(Researcher.id).where(Researcher.merged_into_id.is_(None))
        if f.verification_level is not None or criteria.order is ResearcherOrder.TRUST:
            stmt = stmt.outerjoin(
                TrustSnapshot,
                and_(TrustSnapshot.researcher_id == Researcher.id, TrustSnapshot.is_current),
            )
        if f.institution_id is not None:
            stmt = stmt.where(Researcher.affiliation_id == bindparam("institution_id"))
        if f.country is not None:
            stmt = stmt.where(
                Researcher.affiliation_id.in_(
                    select(Institution.id).where(Institution.country_code == bindparam("country"))
                )
            )
        if f.topic_id is not None:
            on_topic = select(ResearcherTopic.researcher_id).where(
                ResearcherTopic.topic_id == bindparam("topic_id")
            )
            stmt = stmt.where(self.text.among(Researcher.id, on_topic))
        if f.verification_level is not None:
            level = func.coalesce(TrustSnapshot.verification_level, "L0")
            stmt = stmt.where(level == bindparam("verification_level"))
        if f.claimed is not None:
            verified = exists().where(
                Claim.researcher_id == Researcher.id, Claim.status == ClaimStatus.VERIFIED
            )
            stmt = stmt.where(verified if f.claimed else ~verified)
        if f.open_to_collaborate is not None:
            stmt = stmt.where(Researcher.open_to_collaborate == bindparam("open_to_collaborate"))
        if f.has_orcid is not None:
            has = Researcher.orcid.is_not(None)
            stmt = stmt.where(has if f.has_orcid else ~has)
        if f.works_min is not None:
            stmt = stmt.where(Researcher.works_count >= bindparam("works_min"))
        if criteria.text is not None:
            stmt = stmt.where(self.text.name_match(RESEARCHERS, criteria.text))
        return stmt

    def _researcher_key(self, criteria: ResearcherCriteria) -> Hashable:
        f = criteria.filter
        return (
            "researchers",
            shape(f),
            f.claimed,
            f.has_orcid,
            criteria.order,
            _text_shape(criteria.text),
        )

    async def researchers(
        self, criteria: ResearcherCriteria, page: PageRequest
    ) -> tuple[Page[int], int | None]:
        ordering = self.researcher_ordering(criteria)
        values = _values(criteria)
        return await self._page(
            ("page", self._researcher_key(criteria), ordering.name),
            lambda: self._researchers(criteria),
            ordering,
            page,
            values,
        )

    async def count_researchers(self, criteria: ResearcherCriteria) -> int:
        values = _values(criteria)
        return await self._count(
            self._researcher_key(criteria), lambda: self._researchers(criteria), values
        )

    # -- works -------------------------------------------------------------------------------

    def work_ordering(self, criteria: WorkCriteria) -> Ordering:
        if _ranked(criteria):
            score = self.text.work_score()
            return _relevance("w.relevance", score, Work.cited_by_count, Work.id)
        name = "w.citations" if criteria.order is WorkOrder.CITATIONS else "w.year"
        return Ordering(name, _list_keys(criteria), cursor_types=(int, int))

    def _work_conditions(self, criteria: WorkCriteria) -> list[ColumnElement[bool]]:
        f = criteria.filter
        conditions: list[ColumnElement[bool]] = []
        if f.year_from is not None:
            conditions.append(Work.publication_year >= bindparam("year_from"))
        if f.year_to is not None:
            conditions.append(Work.publication_year <= bindparam("year_to"))
        if f.type is not None:
            conditions.append(Work.type == bindparam("type"))
        if f.venue_id is not None:
            conditions.append(Work.venue_id == bindparam("venue_id"))
        if f.topic_id is not None:
            on_topic = select(WorkTopic.work_id).where(WorkTopic.topic_id == bindparam("topic_id"))
            conditions.append(self.text.among(Work.id, on_topic))
        if f.institution_id is not None:
            at_institution = (
                select(Authorship.work_id)
                .join(AuthorshipInstitution, AuthorshipInstitution.authorship_id == Authorship.id)
                .where(AuthorshipInstitution.institution_id == bindparam("institution_id"))
            )
            conditions.append(self.text.among(Work.id, at_institution))
        if f.author_id is not None:
            by_author = select(Authorship.work_id).where(
                Authorship.researcher_id == bindparam("author_id")
            )
            conditions.append(self.text.among(Work.id, by_author))
        if f.has_abstract is not None:
            has = and_(Work.abstract.is_not(None), Work.abstract != "")
            conditions.append(has if f.has_abstract else ~has)
        if f.has_doi is not None:
            has = Work.doi.is_not(None)
            conditions.append(has if f.has_doi else ~has)
        if criteria.text is not None:
            conditions.append(self.text.work_match())
        return conditions

    def _matching_works(self, criteria: WorkCriteria, *columns: Any) -> Select[Any]:
        """``columns`` of the works ``criteria`` finds."""
        stmt = select(*columns)
        if criteria.text is not None:
            stmt = stmt.select_from(self.text.searched_works())
        return stmt.where(*self._work_conditions(criteria))

    def _window(self, criteria: WorkCriteria, *columns: Any) -> Select[Any]:
        """``columns`` of the first ``window + 1`` works ``criteria`` finds, each with its
        ``position``: in citation order when ranked by relevance (for a common word, the best
        known of its works are ranked), else in the list's own order. Rows past ``window``
        only tell that more match. PostgreSQL reads a common word's works down the order's
        index, a rare word's from the text index, a filter's list of ids by id
        (``_list_keys``)."""
        order = [key.desc() for key in _list_keys(criteria)]
        position = func.row_number().over(order_by=order).label("position")
        return (
            self._matching_works(criteria, *columns, position)
            .order_by(*order)
            .limit(bindparam("window_limit"))
        )

    def _work_key(self, criteria: WorkCriteria) -> Hashable:
        f = criteria.filter
        return (
            "works",
            shape(f),
            f.has_abstract,
            f.has_doi,
            criteria.order,
            _text_shape(criteria.text),
        )

    async def works(
        self, criteria: WorkCriteria, page: PageRequest
    ) -> tuple[Page[int], int | None]:
        """A page of the list. Ranked by relevance, the window's works are ranked (a first
        page counts the window in the same statement); else the list's index pages through
        every match (its count is the window's, apart)."""
        ordering = self.work_ordering(criteria)
        values = _values(criteria)
        key = (self.dialect, "page", self._work_key(criteria), ordering.name, page_shape(page))
        if not _ranked(criteria):
            stmt = statement(
                key, lambda: paged(self._matching_works(criteria, Work.id), ordering, page)
            )
            rows = (await self.session.execute(stmt, values | page_parameters(page))).all()
            return build_page([(row[0], tuple(row[1:])) for row in rows], page), None
        first = page.after is None and page.before is None

        def build() -> Select[Any]:
            window = self._window(criteria, Work.id, *_sort_keys(ordering)).cte("window")
            ranked = select(window.c.id).where(window.c.position <= WINDOW)
            stmt = paged(ranked, _on(window, ordering), page)
            if first:
                stmt = stmt.add_columns(select(func.count()).select_from(window).scalar_subquery())
            return stmt

        stmt = statement(key, build)
        rows = (await self.session.execute(stmt, values | page_parameters(page))).all()
        width = len(ordering.columns)
        total = (rows[0][-1] if rows else 0) if first else None
        return build_page([(row[0], tuple(row[1 : 1 + width])) for row in rows], page), total

    async def count_works(self, criteria: WorkCriteria) -> int:
        """How many works match, up to ``window + 1`` (more than the window: ``window + 1``)."""
        values = _values(criteria)
        return await self._count(
            self._work_key(criteria), lambda: self._window(criteria, Work.id), values
        )

    async def work_facets(
        self, criteria: WorkCriteria, wanted: Mapping[WorkFacet, int]
    ) -> dict[WorkFacet, list[Bucket]]:
        """For each facet wanted, its ``limit`` most frequent values among the works
        ``criteria`` finds, most works first (ties by value): one statement, which finds the
        works once (a CTE) and groups them once per facet."""
        facets = sorted(wanted, key=lambda f: f.value)

        def build() -> Any:
            matched = self._window(
                criteria, Work.id, Work.publication_year, Work.type, Work.venue_id
            ).cte("matched")
            parts = [self._facet(matched, facet) for facet in facets]
            return union_all(*parts) if len(parts) > 1 else parts[0]

        stmt = statement(("facets", self.dialect, self._work_key(criteria), tuple(facets)), build)
        values = _values(criteria)
        limits = {f"limit_{facet.value}": wanted[facet] for facet in facets}
        rows = (await self.session.execute(stmt, values | limits)).all()
        found: dict[WorkFacet, list[Bucket]] = {facet: [] for facet in facets}
        for facet, value, label, count in rows:
            found[WorkFacet(facet)].append(Bucket(value=value, label=label, count=int(count)))
        return found

    async def works_with_facets(
        self, criteria: WorkCriteria, page: PageRequest, wanted: Mapping[WorkFacet, int]
    ) -> tuple[Page[int], int, dict[WorkFacet, list[Bucket]]]:
        """``works``, ``count_works`` and ``work_facets`` at once, in one statement that finds
        the window's works once (a CTE with their sort keys) for the total, every facet and
        a page ranked by relevance (a page in another order reads the list's index)."""
        facets = sorted(wanted, key=lambda f: f.value)
        ordering = self.work_ordering(criteria)
        width = len(ordering.columns)
        ranked = _ranked(criteria)

        def build() -> Any:
            keys = _sort_keys(ordering) if ranked else []
            matched = self._window(
                criteria, Work.id, Work.publication_year, Work.type, Work.venue_id, *keys
            ).cte("matched")
            if ranked:
                in_window = select(matched.c.id).where(matched.c.position <= WINDOW)
                top = paged(in_window, _on(matched, ordering), page).subquery()
            else:
                top = paged(self._matching_works(criteria, Work.id), ordering, page).subquery()
            # Every part has the columns (part, id, sort keys..., facet, value, label, count).
            parts = [
                select(literal("page"), *top.c, *_nulls(4)),
                select(literal("total"), *_nulls(4 + width), func.count()).select_from(matched),
                *(
                    select(literal("facet"), *_nulls(1 + width), *part.c)
                    for part in (self._facet(matched, f).subquery() for f in facets)
                ),
            ]
            return union_all(*parts)

        key = (self.dialect, self._work_key(criteria), page_shape(page), tuple(facets))
        stmt = statement(("works+facets", *key), build)
        values = _values(criteria)
        limits = {f"limit_{facet.value}": wanted[facet] for facet in facets}
        rows = (await self.session.execute(stmt, values | limits | page_parameters(page))).all()
        keyed: list[tuple[int, tuple[Any, ...]]] = []
        total = 0
        found: dict[WorkFacet, list[Bucket]] = {facet: [] for facet in facets}
        for row in rows:
            if row[0] == "page":
                keyed.append((row[1], tuple(row[2 : 2 + width])))
            elif row[0] == "total":
                total = int(row[-1])
            else:
                facet, value, label, count = row[-4:]
                found[WorkFacet(facet)].append(Bucket(value=value, label=label, count=int(count)))
        # UNION ALL keeps no order: the page's rows are put back in it (the keys are numbers).
        keyed.sort(key=lambda row: row[1], reverse=ordering.descending == page.forward)
        return build_page(keyed, page), total, found

    def _facet(self, matched: Any, facet: WorkFacet) -> Select[Any]:
        """One facet's buckets over the ``matched`` works, as (facet, value, label, count)."""
        counted = func.count(matched.c.id.distinct())
        stmt: Any
        if facet is WorkFacet.YEAR:
            value = label = matched.c.publication_year
            stmt = select(value, label, counted).where(value.is_not(None))
        elif facet is WorkFacet.TYPE:
            value = label = matched.c.type
            stmt = select(value, label, counted)
        elif facet is WorkFacet.VENUE:
            value, label = Venue.id, Venue.display_name
            stmt = select(value, label, counted).join(Venue, Venue.id == matched.c.venue_id)
        elif facet is WorkFacet.TOPIC:
            value, label = Topic.id, Topic.display_name
            stmt = (
                select(value, label, counted)
                .join(WorkTopic, WorkTopic.work_id == matched.c.id)
                .join(Topic, Topic.id == WorkTopic.topic_id)
            )
        else:
            value, label = Institution.id, Institution.display_name
            stmt = (
                select(value, label, counted)
                .join(Authorship, Authorship.work_id == matched.c.id)
                .join(AuthorshipInstitution, AuthorshipInstitution.authorship_id == Authorship.id)
                .join(Institution, Institution.id == AuthorshipInstitution.institution_id)
            )
        top = (
            stmt.select_from(matched)
            .where(matched.c.position <= WINDOW)
            .group_by(value, label)
            .order_by(counted.desc(), value)
            .limit(bindparam(f"limit_{facet.value}"))
            .subquery()
        )
        # Wrapped, so that each part keeps its own ORDER BY and LIMIT inside UNION ALL.
        return select(
            literal(facet.value).label("facet"),
            cast(top.c[0], String).label("value"),
            cast(top.c[1], String).label("label"),
            top.c[2],
        )

    # -- topics, institutions, venues ---------------------------------------------------------

    def named_ordering(self, criteria: NamedCriteria) -> Ordering:
        _, table = NAMED[criteria.kind]
        prefix = criteria.kind.value
        if criteria.order is NameOrder.RELEVANCE and criteria.text is not None:
            return _relevance(f"{prefix}.relevance", self.text.name_score(table), table.id)
        return Ordering(
            f"{prefix}.name",
            (table.search_name, table.id),
            descending=False,
            cursor_types=(str, int),
        )

    def _named(self, criteria: NamedCriteria) -> Select[Any]:
        model, table = NAMED[criteria.kind]
        f = criteria.filter
        stmt = select(table.id)
        if f.country is not None:
            stmt = stmt.where(model.country_code == bindparam("country"))
        if f.type is not None:
            stmt = stmt.where(model.type == bindparam("type"))
        if f.level is not None:
            stmt = stmt.where(model.level == bindparam("level"))
        if criteria.text is not None:
            stmt = stmt.where(self.text.name_match(table, criteria.text))
        return stmt

    def _named_key(self, criteria: NamedCriteria) -> Hashable:
        return (criteria.kind, shape(criteria.filter), criteria.order, _text_shape(criteria.text))

    async def named(
        self, criteria: NamedCriteria, page: PageRequest
    ) -> tuple[Page[int], int | None]:
        ordering = self.named_ordering(criteria)
        values = _values(criteria)
        return await self._page(
            ("page", self._named_key(criteria), ordering.name),
            lambda: self._named(criteria),
            ordering,
            page,
            values,
        )

    async def count_named(self, criteria: NamedCriteria) -> int:
        values = _values(criteria)
        return await self._count(self._named_key(criteria), lambda: self._named(criteria), values)

    # -- the search box -----------------------------------------------------------------------

    def everything_ordering(self) -> Ordering:
        """The cursor shape of ``everything``: (scaled score, kind, id)."""
        return Ordering(
            "search",
            (literal(0.0), literal(0), literal(0, BigInteger)),
            cursor_types=(SCORE, int, int),
        )

    def _hits(
        self, kind: HitKind, search: SearchText, *conditions: ColumnElement[bool]
    ) -> tuple[Select[Any], Ordering]:
        """One kind's statement of ``everything``, its score scaled to 0..1 so that kinds
        compare: a name's (tier + similarity) / 4, a text's s / (s + 1) (the works of the
        search's window)."""
        if kind is HitKind.WORK:
            score = self.text.work_score().label("score")
            window = self._window(_box_works(search), Work.id, score).cte("window")
            stmt = select(window.c.id).where(window.c.position <= WINDOW)
            key: Any = window.c.id
            scaled: Any = window.c.score / (window.c.score + 1.0)
        else:
            if kind is HitKind.RESEARCHER:
                table = RESEARCHERS
                stmt = select(Researcher.id).where(Researcher.merged_into_id.is_(None))
            else:
                table = NAMED[NamedKind[kind.name]][1]
                stmt = select(table.id)
            stmt = stmt.where(self.text.name_match(table, search), *conditions)
            key, scaled = table.id, self.text.name_score(table) / 4.0
        ordering = Ordering(
            "search", (scaled, literal(kind.value), key), cursor_types=(SCORE, int, int)
        )
        return stmt, ordering

    async def count_everything(self, search: SearchText, window: int) -> int:
        """How many researchers, topics, institutions and venues match, and works up to the
        ``window``, in one statement (each kind's count as a scalar subquery)."""

        def build() -> Select[Any]:
            researchers = self._researchers(
                ResearcherCriteria(search, ResearcherFilter(), ResearcherOrder.RELEVANCE)
            )
            windowed = self._window(_box_works(search), Work.id).subquery()
            works = select(windowed.c.id).where(windowed.c.position <= WINDOW)
            named = [
                self._named(NamedCriteria(kind, search, NamedFilter(), NameOrder.RELEVANCE))
                for kind in NamedKind
            ]
            counts = [
                select(func.count()).select_from(part.subquery()).scalar_subquery()
                for part in (researchers, works, *named)
            ]
            return select(sum(counts[1:], counts[0]))

        stmt = statement((self.dialect, "count everything", _text_shape(search)), build)
        values = _text_values(search) | _window_values(window)
        return int((await self.session.execute(stmt, values)).scalar_one())

    async def everything(self, search: SearchText, page: PageRequest, window: int) -> Page[Hit]:
        """Researchers, topics, institutions, venues and works in one ranked list: the best
        ``size + 1`` of each kind past the cursor (one statement for all the kinds but the
        researchers found by ``NAME_WORDS``), merged. A row is (id, score, kind, id)."""
        values = _text_values(search) | _window_values(window)
        found: list[tuple[Hit, tuple[Any, ...]]] = []
        kinds = list(HitKind)
        if self._by_name_words(search, page):
            kinds.remove(HitKind.RESEARCHER)
            rows = await self._researcher_hits_by_word(search, page)
            found.extend((Hit(HitKind.RESEARCHER, row[0]), tuple(row[1:])) for row in rows)

        def build() -> Any:
            # Wrapped, so that each kind keeps its own ORDER BY and LIMIT inside UNION ALL.
            parts = [paged(*self._hits(kind, search), page).subquery() for kind in kinds]
            return union_all(*(select(*part.c) for part in parts))

        key = ("everything", self.dialect, tuple(kinds), _text_shape(search), page_shape(page))
        hits = await self.session.execute(statement(key, build), values | page_parameters(page))
        found.extend((Hit(HitKind(row[2]), row[0]), tuple(row[1:])) for row in hits)
        found.sort(key=lambda item: item[1], reverse=page.forward)
        return build_page(found[: page.size + 1], page)

    def _by_name_words(self, search: SearchText, page: PageRequest) -> bool:
        """Whether the researchers of the search box come from ``NAME_WORDS``: one word, on
        PostgreSQL, a page forward."""
        return (
            self.dialect == "postgresql"
            and " " not in search.folded
            and page.forward
            and page.before is None
        )

    async def _researcher_hits_by_word(
        self, search: SearchText, page: PageRequest
    ) -> list[tuple[Any, ...]]:
        """The search box's researchers for one word, in the rows and order of the general
        statement, without ranking every holder of a common word. The names of tier 1 and
        above score 2 or more and the rest below 1 (a later word that *is* the text has
        similarity 1), so the list is, in order:

        - the holders of the word (``NAME_WORDS``: tier, then id, read off its index; their
          similarity is 1) merged with the names starting with a longer word (tier 2, ranked:
          few), the latter read once the former reach tier 2;
        - then, past those, the other matches (tier 0), ranked by the general statement."""
        wanted = page.size + 1
        values = _text_values(search) | page_parameters(page)
        tier, last_id = _word_bound(page.after)
        hits: list[tuple[Any, ...]] = []
        if (tier, last_id) > (1, 0):  # some holder is past the cursor
            stmt = statement(("everything", "holders"), _word_holders)
            rows = await self.session.execute(
                stmt, {"q": search.folded, "tier": tier, "last_id": last_id, "_limit": wanted}
            )
            kind = HitKind.RESEARCHER.value
            hits = [(rid, (t + 1) / 4.0, kind, rid) for rid, t in rows]
        if len(hits) < wanted or hits[-1][1] <= LEADING_TIER_SCORE:
            starting = (
                self.text.among(Researcher.id, _leading_words()),
                ~spaced(Researcher.search_name).like(WHOLE_WORDS),
            )
            hits += await self._researcher_hits(
                ("leading", page_shape(page)), search, page, values, *starting
            )
            hits = sorted(hits, key=lambda row: row[1:], reverse=True)[:wanted]
        if len(hits) < wanted:
            rest = name_tier(Researcher.search_name) == 0
            rows = await self._researcher_hits(
                ("rest", page_shape(page)),
                search,
                page,
                values | {"_limit": wanted - len(hits)},
                rest,
            )
            hits += rows
        return hits

    async def _researcher_hits(
        self,
        key: Hashable,
        search: SearchText,
        page: PageRequest,
        values: dict[str, Any],
        *conditions: ColumnElement[bool],
    ) -> list[tuple[Any, ...]]:
        def build() -> Select[Any]:
            stmt, ordering = self._hits(HitKind.RESEARCHER, search, *conditions)
            return paged(stmt, ordering, page)

        stmt = statement(("everything", key, _text_shape(search)), build)
        return [tuple(row) for row in await self.session.execute(stmt, values)]

    # -- shared ------------------------------------------------------------------------------

    async def _page(
        self,
        key: Hashable,
        build: Callable[[], Select[Any]],
        ordering: Ordering,
        page: PageRequest,
        values: dict[str, Any],
    ) -> tuple[Page[int], int | None]:
        """A keyset page of ids. A first page of a text search also counts every match in the
        same statement (ranking visits them all anyway): the total, else None."""
        first = page.after is None and page.before is None and "q" in values

        def make() -> Select[Any]:
            stmt = paged(build(), ordering, page)
            return stmt.add_columns(func.count().over()) if first else stmt

        stmt = statement((self.dialect, key, page_shape(page)), make)
        rows = (await self.session.execute(stmt, values | page_parameters(page))).all()
        total = (rows[0][-1] if rows else 0) if first else None
        width = len(ordering.columns)
        return build_page([(row[0], tuple(row[1 : 1 + width])) for row in rows], page), total

    async def _count(
        self, key: Hashable, build: Callable[[], Select[Any]], values: dict[str, Any]
    ) -> int:
        stmt = statement(
            (self.dialect, "count", key),
            lambda: select(func.count()).select_from(build().subquery()),
        )
        return int((await self.session.execute(stmt, values)).scalar_one())


LEADING_TIER_SCORE = 3 / 4.0
"""A holder of tier 2, scaled: a name starting with a longer word scores less, or as much when
the word is the text with punctuation attached ("muhammad," for "muhammad": pg_trgm reads the
same word, the name's words do not), so it may come between holders of tier 2."""


def _nulls(count: int) -> list[Any]:
    return [null() for _ in range(count)]


def _word_bound(after: tuple[Any, ...] | None) -> tuple[int, int]:
    """The search box's cursor as a bound on ``NAME_WORDS``' (tier, researcher id): a holder
    scores (tier + 1) / 4 and is past the cursor when its (score, kind, id) is below it."""
    if after is None:
        return (4, 0)
    score, kind, last_id = after
    for tier in (3, 2, 1):
        held = (tier + 1) / 4.0
        if held < score:
            return (tier + 1, 0)
        if held == score:
            return (tier, last_id if kind == HitKind.RESEARCHER.value else 0)
    return (1, 0)


def _word_holders() -> Select[Any]:
    words = NAME_WORDS.c
    return (
        select(words.researcher_id, words.tier)
        .where(
            words.word == QUERY,
            tuple_(words.tier, words.researcher_id)
            < tuple_(bindparam("tier"), bindparam("last_id")),
        )
        .order_by(words.tier.desc(), words.researcher_id.desc())
        .limit(bindparam("_limit"))
    )


def _leading_words() -> Select[Any]:
    """Researchers whose name starts with a longer word than the text."""
    words = NAME_WORDS.c
    return select(words.researcher_id).where(
        words.tier >= 2, words.word > QUERY, words.word < AFTER_PREFIX
    )


def _text_shape(search: SearchText | None) -> tuple[bool, bool, int]:
    """What of the text the statement's shape depends on."""
    if search is None:
        return (False, False, 0)
    return (True, not search.trigrams(), len(search.name_words()))


def _text_values(search: SearchText | None) -> dict[str, Any]:
    return search_parameters(search) if search is not None else {}


def _filter_values(criteria: Any) -> dict[str, Any]:
    return {
        name: value for name in criteria.__slots__ if (value := getattr(criteria, name)) is not None
    }


def _window_values(window: int) -> dict[str, int]:
    return {"window": window, "window_limit": window + 1}


def _values(criteria: ResearcherCriteria | WorkCriteria | NamedCriteria) -> dict[str, Any]:
    """The bound values of a search's statements: its filter's, its text's and its window."""
    values = _filter_values(criteria.filter) | _text_values(criteria.text)
    if isinstance(criteria, WorkCriteria):
        values |= _window_values(criteria.window)
    return values


def _list_keys(criteria: WorkCriteria) -> tuple[Any, Any]:
    """The list's own order, newest or most cited first (the window of a ranked search takes
    the most cited). Under a filter that lists ids, an expression no index has: the planner
    cannot tell how few works such a list holds, and would walk the order's whole index for
    them (past the statement timeout at 2M works, for a topic's 200) instead of fetching them
    by id and sorting."""
    first: Any = WORK_YEAR if criteria.order is WorkOrder.YEAR else Work.cited_by_count
    if criteria.filter.lists_ids:
        first = first + literal_column("0")
    return (first, Work.id)


def _ranked(criteria: WorkCriteria) -> bool:
    """Whether the works are ranked by relevance (only a text can be)."""
    return criteria.order is WorkOrder.RELEVANCE and criteria.text is not None


def _box_works(search: SearchText) -> WorkCriteria:
    """The search box's works: the text alone, ranked (its window bound, not built in)."""
    return WorkCriteria(search, WorkFilter(), WorkOrder.RELEVANCE, window=0)


def _sort_keys(ordering: Ordering) -> list[Any]:
    """The ordering's columns, labelled for a window to carry them."""
    return [column.label(f"sort_{i}") for i, column in enumerate(ordering.columns)]


def _on(window: Any, ordering: Ordering) -> Ordering:
    """``ordering`` over the columns ``_sort_keys`` put into ``window``."""
    columns = [window.c[f"sort_{i}"] for i in range(len(ordering.columns))]
    return Ordering(ordering.name, columns, ordering.descending, ordering.cursor_types)
