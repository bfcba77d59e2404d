from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, joinedload

from service.db.base import table_of
from service.db.paging import (
    PARENT_IDS,
    Ordering,
    Page,
    PageRequest,
    group_pages,
    page_parameters,
    page_shape,
    paged_per_parent,
    statement,
)
from service.db.repository import RepositoryBase, is_postgresql, member_of
from service.follows.models import Follow
from service.graph.models import CoauthorEdge
from service.imports.models import OpenAlexMerge
from service.institutions.models import Institution
from service.researchers.models import Researcher, ResearcherTopic
from service.topics.models import Topic
from service.works.models import Authorship, WorkTopic

BY_NAME = Ordering(
    "name", (Researcher.search_name, Researcher.id), descending=False, cursor_types=(str, int)
)
BY_WEIGHT = Ordering(
    "collab", (CoauthorEdge.weight, CoauthorEdge.coauthor_id), cursor_types=((float, int), int)
)
BY_CLOSE_COLLABORATORS = Ordering(
    "members",
    (Researcher.close_collaborators_count, Researcher.id),
    cursor_types=(int, int),
)
BY_TOPIC_WORKS = Ordering(
    "rtopic", (ResearcherTopic.work_count, ResearcherTopic.topic_id), cursor_types=(int, int)
)


class ListedResearcher(NamedTuple):
    display_name: str
    affiliation_name: str | None
    works_count: int


def shown_with(researcher: Any) -> tuple[Any, ...]:
    """Loader options for what every view of a researcher shows: its current trust snapshot and
    its affiliation, both many-to-ones joined into the same statement. ``researcher`` is the
    mapped class or an alias of it."""
    return (joinedload(researcher.trust), joinedload(researcher.affiliation))


class ResearcherRepository(RepositoryBase[Researcher]):
    model = Researcher

    def base_select(self) -> Select[Researcher]:
        return select(Researcher).options(*shown_with(Researcher))

    async def get_fresh(self, id_: int) -> Researcher | None:
        """Re-read from the database, replacing what the session holds (after bulk updates)."""
        stmt = (
            self.base_select().where(Researcher.id == id_).execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).unique().scalar_one_or_none()

    async def get_by_orcid(self, orcid: str) -> Researcher | None:
        stmt = self.base_select().where(Researcher.orcid == orcid)
        return (await self.session.execute(stmt)).unique().scalar_one_or_none()

    async def get_by_openalex_id(self, openalex_id: str) -> Researcher | None:
        """The researcher with this OpenAlex id, or the one OpenAlex merged it into."""
        stmt = self.base_select().where(Researcher.openalex_id == openalex_id)
        found = (await self.session.execute(stmt)).unique().scalar_one_or_none()
        if found is None:
            survivor = select(OpenAlexMerge.survivor_id).where(OpenAlexMerge.old_id == openalex_id)
            stmt = self.base_select().where(Researcher.openalex_id.in_(survivor))
            found = (await self.session.execute(stmt)).unique().scalar_one_or_none()
        return (await self.current([found.id]))[found.id] if found else None

    async def current(self, researcher_ids: Sequence[int]) -> dict[int, Researcher | None]:
        """These researchers by id; a merged record's id gives its survivor."""
        found = {r.id: r for r in await self.list_by_ids(researcher_ids)}
        merged = {i: r.merged_into_id for i, r in found.items() if r.merged_into_id}
        if merged:
            survivors = {r.id: r for r in await self.list_by_ids(merged.values())}
            found |= {i: survivors[s] for i, s in merged.items() if s in survivors}
        return {i: found.get(i) for i in researcher_ids}

    async def ids_named(self, folded: str) -> list[int]:
        """Unmerged researchers whose folded name is exactly ``folded``, by id (a lookup by
        name, not a search: searches go through ``service.search``)."""
        stmt = (
            select(Researcher.id)
            .where(Researcher.search_name == folded, Researcher.merged_into_id.is_(None))
            .order_by(Researcher.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def close_collaborator_pages(
        self, researcher_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[Researcher]]:
        """Co-authors in the researcher's own cluster, by edge weight (heaviest first)."""
        return await self._coauthor_pages(researcher_ids, page, same_cluster=True)

    async def coauthor_pages(
        self, researcher_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[Researcher]]:
        """All co-authors, by edge weight (heaviest first)."""
        return await self._coauthor_pages(researcher_ids, page, same_cluster=False)

    async def _coauthor_pages(
        self, researcher_ids: Sequence[int], page: PageRequest, *, same_cluster: bool
    ) -> dict[int, Page[Researcher]]:
        def build() -> Select[Any]:
            inner = (
                select(Researcher)
                .join(CoauthorEdge, CoauthorEdge.coauthor_id == Researcher.id)
                .where(CoauthorEdge.researcher_id.in_(PARENT_IDS))
            )
            if same_cluster:
                center = aliased(Researcher, name="center")
                inner = inner.join(center, center.id == CoauthorEdge.researcher_id).where(
                    Researcher.cluster_id == center.cluster_id
                )
            return paged_per_parent(
                inner,
                Researcher,
                parent=CoauthorEdge.researcher_id,
                ordering=BY_WEIGHT,
                page=page,
                options=[shown_with],
            )

        name = "researchers.close_collaborators" if same_cluster else "researchers.coauthors"
        stmt = statement((name, page_shape(page)), build)
        values = page_parameters(page, researcher_ids)
        rows = (await self.session.execute(stmt, values)).unique().all()
        return group_pages(rows, researcher_ids, page)

    async def count_coauthors(self, researcher_ids: Sequence[int]) -> dict[int, int]:
        return await self.count_grouped(CoauthorEdge.researcher_id, researcher_ids)

    async def member_pages(
        self, cluster_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[Researcher]]:
        """Members of each cluster, the most connected within it first."""
        stmt = statement(
            ("researchers.cluster_members", page_shape(page)),
            lambda: paged_per_parent(
                select(Researcher).where(Researcher.cluster_id.in_(PARENT_IDS)),
                Researcher,
                parent=Researcher.cluster_id,
                ordering=BY_CLOSE_COLLABORATORS,
                page=page,
                options=[shown_with],
            ),
        )
        rows = (await self.session.execute(stmt, page_parameters(page, cluster_ids))).unique()
        return group_pages(rows.all(), cluster_ids, page)

    async def top_topics_of_clusters(
        self, cluster_ids: Sequence[int], limit: int
    ) -> dict[int, list[int]]:
        """Topic ids most worked on by each cluster's members (summed works), best first."""
        summed = (
            select(
                Researcher.cluster_id.label("cluster_id"),
                ResearcherTopic.topic_id.label("topic_id"),
                func.sum(ResearcherTopic.work_count).label("works"),
            )
            .join(ResearcherTopic, ResearcherTopic.researcher_id == Researcher.id)
            .where(Researcher.cluster_id.in_(cluster_ids))
            .group_by(Researcher.cluster_id, ResearcherTopic.topic_id)
            .subquery()
        )
        rank = func.row_number().over(
            partition_by=summed.c.cluster_id,
            order_by=(summed.c.works.desc(), summed.c.topic_id),
        )
        ranked = select(summed.c.cluster_id, summed.c.topic_id, rank.label("rank")).subquery()
        stmt = (
            select(ranked.c.cluster_id, ranked.c.topic_id)
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.cluster_id, ranked.c.rank)
        )
        topics: dict[int, list[int]] = {cluster_id: [] for cluster_id in cluster_ids}
        for cluster_id, topic_id in await self.session.execute(stmt):
            topics[cluster_id].append(topic_id)
        return topics

    async def count_close_collaborators(self, researcher_ids: Sequence[int]) -> dict[int, int]:
        coauthor = aliased(Researcher, name="coauthor")
        center = aliased(Researcher, name="center")
        stmt = (
            select(CoauthorEdge.researcher_id, func.count())
            .join(coauthor, coauthor.id == CoauthorEdge.coauthor_id)
            .join(center, center.id == CoauthorEdge.researcher_id)
            .where(
                CoauthorEdge.researcher_id.in_(researcher_ids),
                coauthor.cluster_id == center.cluster_id,
            )
            .group_by(CoauthorEdge.researcher_id)
        )
        counts = dict((await self.session.execute(stmt)).all())
        return {rid: counts.get(rid, 0) for rid in researcher_ids}

    async def topic_pages(
        self, researcher_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[Topic]]:
        stmt = statement(
            ("researchers.topics", page_shape(page)),
            lambda: paged_per_parent(
                select(Topic)
                .join(ResearcherTopic, ResearcherTopic.topic_id == Topic.id)
                .where(ResearcherTopic.researcher_id.in_(PARENT_IDS)),
                Topic,
                parent=ResearcherTopic.researcher_id,
                ordering=BY_TOPIC_WORKS,
                page=page,
            ),
        )
        rows = (await self.session.execute(stmt, page_parameters(page, researcher_ids))).all()
        return group_pages(rows, researcher_ids, page)

    async def count_topics(self, researcher_ids: Sequence[int]) -> dict[int, int]:
        return await self.count_grouped(ResearcherTopic.researcher_id, researcher_ids)

    async def work_counter_values(self, researcher_ids: Sequence[int]) -> list[dict[str, int]]:
        """The counters that works move (works, topics, close collaborators), recounted, one
        dict per researcher."""
        ids = list(researcher_ids)
        works = await self.count_works(ids)
        topics = await self.count_topics(ids)
        close = await self.count_close_collaborators(ids)
        return [
            {
                "id": rid,
                "works_count": works[rid],
                "topics_count": topics[rid],
                "close_collaborators_count": close[rid],
            }
            for rid in ids
        ]

    async def close_collaborator_values(
        self, researcher_ids: Sequence[int]
    ) -> list[dict[str, int]]:
        close = await self.count_close_collaborators(researcher_ids)
        return [{"id": rid, "close_collaborators_count": n} for rid, n in close.items()]

    async def rebuild_topics(self, researcher_ids: Sequence[int]) -> None:
        """Recount ``researcher_topics`` (topics of a researcher's works) for these researchers."""
        ids = list(researcher_ids)
        await self.session.execute(
            delete(ResearcherTopic).where(ResearcherTopic.researcher_id.in_(ids))
        )
        counted = (
            select(Authorship.researcher_id, WorkTopic.topic_id, func.count())
            .join(WorkTopic, WorkTopic.work_id == Authorship.work_id)
            .where(Authorship.researcher_id.in_(ids))
            .group_by(Authorship.researcher_id, WorkTopic.topic_id)
        )
        await self.session.execute(
            insert(ResearcherTopic).from_select(
                ["researcher_id", "topic_id", "work_count"], counted
            )
        )

    async def add_work_topics(self, work_ids: Sequence[int]) -> None:
        """Fold new works into ``researcher_topics``: each author gains one work per topic of
        each work (apply once per new work; the caller's processed mark sees to that)."""
        counted = (
            select(Authorship.researcher_id, WorkTopic.topic_id, func.count())
            .join(WorkTopic, WorkTopic.work_id == Authorship.work_id)
            .where(Authorship.work_id.in_(list(work_ids)), literal(True))
            .group_by(Authorship.researcher_id, WorkTopic.topic_id)
        )
        dialect_insert = postgresql.insert if is_postgresql(self.session) else sqlite.insert
        stmt = dialect_insert(ResearcherTopic).from_select(
            ["researcher_id", "topic_id", "work_count"], counted
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["researcher_id", "topic_id"],
            set_={"work_count": ResearcherTopic.work_count + stmt.excluded.work_count},
        )
        await self.session.execute(stmt)

    async def recount_everything(self, affiliations: Subquery | None = None) -> None:
        """Every researcher's ``researcher_topics`` and counters from the source tables, in a
        few set-based statements (the full recompute; batches of ids took a minute at 100k
        researchers). A counter is written only where it changes. ``affiliations``: rows
        (researcher_id, institution_id) giving researchers without an author record (no
        ``openalex_updated``) their affiliation in the same rewrite."""
        if is_postgresql(self.session):
            # After a bulk import the planner would see the tables as they were before it.
            await self.session.execute(text("ANALYZE authorships, work_topics, follows"))
        await self.session.execute(delete(ResearcherTopic))
        # In key order: the rows go to the end of the primary key and of the covering index
        # instead of all over them (1M rows at 100k researchers: 11.7 s unordered, 5.1 s).
        await self.session.execute(
            insert(ResearcherTopic).from_select(
                ["researcher_id", "topic_id", "work_count"],
                select(Authorship.researcher_id, WorkTopic.topic_id, func.count())
                .join(WorkTopic, WorkTopic.work_id == Authorship.work_id)
                .group_by(Authorship.researcher_id, WorkTopic.topic_id)
                .order_by(Authorship.researcher_id, WorkTopic.topic_id),
            )
        )
        coauthor = aliased(Researcher, name="coauthor")
        center = aliased(Researcher, name="center")
        same_cluster = (
            select(CoauthorEdge.researcher_id.label("researcher_id"))
            .join(coauthor, coauthor.id == CoauthorEdge.coauthor_id)
            .join(center, center.id == CoauthorEdge.researcher_id)
            .where(coauthor.cluster_id == center.cluster_id)
        )
        sources: dict[str, Any] = {
            "works_count": select(Authorship.researcher_id.label("researcher_id")),
            "followers_count": select(Follow.researcher_id.label("researcher_id")),
            "topics_count": select(ResearcherTopic.researcher_id.label("researcher_id")),
            "close_collaborators_count": same_cluster,
        }
        table = table_of(Researcher)
        counts = select(table.c.id)
        for column, rows in sources.items():
            named = rows.subquery()
            counted = (
                select(named.c.researcher_id, func.count().label("n"))
                .group_by(named.c.researcher_id)
                .subquery(column)
            )
            counts = counts.outerjoin(counted, counted.c.researcher_id == table.c.id)
            counts = counts.add_columns(func.coalesce(counted.c.n, 0).label(column))
        written = list(sources)
        if affiliations is not None:
            known_only_from_works = and_(
                table.c.openalex_updated.is_(None), affiliations.c.institution_id.is_not(None)
            )
            counts = counts.outerjoin(
                affiliations, affiliations.c.researcher_id == table.c.id
            ).add_columns(
                case(
                    (known_only_from_works, affiliations.c.institution_id),
                    else_=table.c.affiliation_id,
                ).label("affiliation_id")
            )
            written.append("affiliation_id")
        fresh = counts.subquery("fresh")
        # One statement, each row rewritten once and only if a value moved: four updates
        # rewrote every row four times (27 s at 150k researchers, indexes included).
        await self.session.execute(
            update(table)
            .where(
                table.c.id == fresh.c.id,
                or_(*(table.c[column].is_distinct_from(fresh.c[column]) for column in written)),
            )
            .values({column: fresh.c[column] for column in written})
        )
        # Researchers this session loaded before (the demo loader's) hold the old counters.
        self.session.expire_all()

    async def works_counts(self, researcher_ids: Sequence[int] | None) -> dict[int, int]:
        """``works_count`` by researcher (every researcher when None)."""
        stmt = select(Researcher.id, Researcher.works_count)
        if researcher_ids is not None:
            stmt = stmt.where(Researcher.id.in_(researcher_ids))
        return dict((await self.session.execute(stmt)).all())

    async def listed(self, researcher_ids: Sequence[int]) -> dict[int, ListedResearcher]:
        """What a list of researchers shows of each (name, affiliation's name, works), in one
        statement whose text is the same for any number of ids (PostgreSQL)."""
        arrays = is_postgresql(self.session)
        stmt = statement(
            ("researchers.listed", arrays),
            lambda: (
                select(
                    Researcher.id,
                    Researcher.display_name,
                    Institution.display_name,
                    Researcher.works_count,
                )
                .outerjoin(Institution, Institution.id == Researcher.affiliation_id)
                .where(member_of(Researcher.id, "ids", arrays))
            ),
        )
        rows = await self.session.execute(stmt, {"ids": list(researcher_ids)})
        return {row[0]: ListedResearcher(*row[1:]) for row in rows}

    async def all_ids(self) -> list[int]:
        return list((await self.session.execute(select(Researcher.id))).scalars())

    async def lock(self, researcher_ids: Sequence[int]) -> None:
        """Lock these researchers' rows until the transaction ends, in id order (no deadlock
        between two lockers). Recounts after it see every change committed before the lock, so
        two concurrent recounts cannot leave the older count behind. SQLite has one writer."""
        if researcher_ids and is_postgresql(self.session):
            stmt = (
                select(Researcher.id)
                .where(Researcher.id.in_(sorted(set(researcher_ids))))
                .order_by(Researcher.id)
                .with_for_update()
            )
            await self.session.execute(stmt)

    async def count_works(self, researcher_ids: Sequence[int]) -> dict[int, int]:
        return await self.count_grouped(Authorship.researcher_id, researcher_ids)

    async def add_to_followers_counts(self, deltas: Mapping[int, int]) -> None:
        if not deltas:
            return
        table = table_of(Researcher)
        stmt = (
            update(table)
            .where(table.c.id == bindparam("researcher_id"))
            .values(followers_count=table.c.followers_count + bindparam("delta"))
        )
        await self.session.execute(
            stmt, [{"researcher_id": rid, "delta": deltas[rid]} for rid in sorted(deltas)]
        )

    async def update_counters(self, rows: Sequence[dict[str, int]]) -> None:
        """``rows``: ``"id"`` and the counters to set (``works_count``, ``followers_count``,
        ``topics_count``, ``close_collaborators_count``) per researcher, in one executemany;
        rows of one call name the same counters."""
        if rows:
            await self.session.execute(update(Researcher), list(rows))
