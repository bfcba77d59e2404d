"""The rows of the profile page, read as rows (no ORM entities) for its compiled plan
(``profile_plan.py``): one statement on PostgreSQL, four portable ones (SQLAlchemy Core) on
SQLite, whatever the page holds. Each is built once per process with bound values, so the
driver reuses one prepared statement each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.repository import is_postgresql
from service.graph.models import CoauthorEdge
from service.institutions.models import Institution
from service.researchers.models import Researcher, ResearcherTopic
from service.topics.models import Topic
from service.trust.models import TrustSnapshot
from service.works.models import Authorship, Venue, Work

researchers = Researcher.__table__.c
institutions = Institution.__table__.c
trust = TrustSnapshot.__table__.c
authorships = Authorship.__table__.c
works = Work.__table__.c
venues = Venue.__table__.c
researcher_topics = ResearcherTopic.__table__.c
topics = Topic.__table__.c
edges = CoauthorEdge.__table__.c

RESEARCHER = (
    select(
        researchers.id,
        researchers.display_name,
        researchers.description,
        researchers.orcid,
        researchers.open_to_collaborate,
        researchers.cluster_id,
        researchers.merged_into_id,
        researchers.works_count,
        researchers.followers_count,
        researchers.topics_count,
        researchers.close_collaborators_count,
        institutions.id.label("affiliation_id"),
        institutions.display_name.label("affiliation_name"),
        trust.score,
        trust.band,
        trust.verification_level,
        trust.claimed,
        trust.computed_at,
        trust.factors,
        select(func.count())
        .where(authorships.researcher_id == researchers.id)
        .scalar_subquery()
        .label("works_total"),
    )
    .select_from(Researcher.__table__)
    .outerjoin(Institution.__table__, institutions.id == researchers.affiliation_id)
    .outerjoin(
        TrustSnapshot.__table__, and_(trust.researcher_id == researchers.id, trust.is_current)
    )
    .where(researchers.id == bindparam("researcher_id"))
)
"""The researcher, its affiliation, its current trust snapshot and its number of works (as
``work_count_by_researcher``: authorships, not the derived counter)."""

WORKS = (
    select(
        works.id,
        works.type,
        works.publication_year,
        func.coalesce(works.publication_year, 0).label("year_key"),
        venues.id.label("venue_id"),
        venues.display_name.label("venue_name"),
        works.title,
        works.abstract,
        works.doi,
        works.arxiv_id,
    )
    .select_from(Authorship.__table__)
    .join(Work.__table__, works.id == authorships.work_id)
    .outerjoin(Venue.__table__, venues.id == works.venue_id)
    .where(authorships.researcher_id == bindparam("researcher_id"))
    .order_by(func.coalesce(works.publication_year, 0).desc(), works.id.desc())
    .limit(bindparam("limit"))
)
"""The first works, newest first (``BY_RECENCY``); ask for one more than the page to learn
whether there is a next page."""

TOPICS = (
    select(topics.id, topics.display_name)
    .select_from(ResearcherTopic.__table__)
    .join(Topic.__table__, topics.id == researcher_topics.topic_id)
    .where(researcher_topics.researcher_id == bindparam("researcher_id"))
    .order_by(researcher_topics.work_count.desc(), researcher_topics.topic_id.desc())
    .limit(bindparam("limit"))
)
"""The first topics, the most frequent first (``BY_TOPIC_WORKS``)."""

CLOSE_COLLABORATORS = (
    select(
        researchers.id,
        researchers.display_name,
        edges.weight,
        trust.score,
        trust.band,
    )
    .select_from(CoauthorEdge.__table__)
    .join(Researcher.__table__, researchers.id == edges.coauthor_id)
    .outerjoin(
        TrustSnapshot.__table__, and_(trust.researcher_id == researchers.id, trust.is_current)
    )
    .where(
        edges.researcher_id == bindparam("researcher_id"),
        researchers.cluster_id == bindparam("cluster_id"),
    )
    .order_by(edges.weight.desc(), edges.coauthor_id.desc())
    .limit(bindparam("limit"))
)
"""The first co-authors in the researcher's own cluster, heaviest edge first (``BY_WEIGHT``)."""


PROFILE_PAGE_POSTGRESQL = """
SELECT r.id, r.display_name, r.description, r.orcid, r.open_to_collaborate, r.merged_into_id,
       r.works_count, r.followers_count, r.topics_count, r.close_collaborators_count,
       i.id AS affiliation_id, i.display_name AS affiliation_name,
       t.score, t.band, t.verification_level, t.claimed, t.computed_at,
       t.factors::text AS factors,
       (SELECT count(*) FROM authorships AS a WHERE a.researcher_id = r.id) AS works_total,
       ARRAY(
           SELECT ROW(w.id, w.type, w.publication_year, coalesce(w.publication_year, 0),
                      v.id, v.display_name, w.title, w.abstract, w.doi, w.arxiv_id)
           FROM authorships AS a
           JOIN works AS w ON w.id = a.work_id
           LEFT JOIN venues AS v ON v.id = w.venue_id
           WHERE a.researcher_id = r.id
           ORDER BY coalesce(w.publication_year, 0) DESC, w.id DESC
           LIMIT $2
       ) AS works,
       ARRAY(
           SELECT ROW(tp.id, tp.display_name)
           FROM researcher_topics AS rt
           JOIN topics AS tp ON tp.id = rt.topic_id
           WHERE rt.researcher_id = r.id
           ORDER BY rt.work_count DESC, rt.topic_id DESC
           LIMIT $3
       ) AS topics,
       ARRAY(
           SELECT ROW(c.id, c.display_name, e.weight, ct.score, ct.band)
           FROM coauthor_edges AS e
           JOIN researchers AS c ON c.id = e.coauthor_id
           LEFT JOIN trust_snapshots AS ct ON ct.researcher_id = c.id AND ct.is_current
           WHERE e.researcher_id = r.id AND c.cluster_id = r.cluster_id
           ORDER BY e.weight DESC, e.coauthor_id DESC
           LIMIT $3
       ) AS close_collaborators
FROM researchers AS r
LEFT JOIN institutions AS i ON i.id = r.affiliation_id
LEFT JOIN trust_snapshots AS t ON t.researcher_id = r.id AND t.is_current
WHERE r.id = $1
"""
"""The four statements above as one (PostgreSQL), the lists as arrays of anonymous records,
which asyncpg decodes into tuples of the same columns: one round trip, one prepared statement.
It runs on the session's own connection through the driver: SQLAlchemy's per-statement work
cost more than the statement itself."""


@dataclass(frozen=True)
class ProfileData:
    researcher: Mapping[str, Any]
    """The columns of ``RESEARCHER`` by name (``factors`` as a list)."""
    works: Sequence[tuple[Any, ...]]
    """Up to ``works_limit`` rows of ``WORKS``' columns, in order."""
    topics: Sequence[tuple[Any, ...]]
    close_collaborators: Sequence[tuple[Any, ...]]


class ProfileRows:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read(self, researcher_id: int, works_limit: int, limit: int) -> ProfileData | None:
        """The profile page's rows: the researcher, its first ``works_limit`` works and its
        first ``limit`` topics and close collaborators; None when there is no such record."""
        if is_postgresql(self.session):
            return await self._read_postgresql(researcher_id, works_limit, limit)
        return await self._read_portable(researcher_id, works_limit, limit)

    async def _read_postgresql(
        self, researcher_id: int, works_limit: int, limit: int
    ) -> ProfileData | None:
        connection = await (await self.session.connection()).get_raw_connection()
        driver: Any = connection.driver_connection
        row = await driver.fetchrow(PROFILE_PAGE_POSTGRESQL, researcher_id, works_limit, limit)
        if row is None:
            return None
        researcher = dict(row.items())
        factors = researcher["factors"]
        researcher["factors"] = None if factors is None else orjson.loads(factors)
        return ProfileData(
            researcher=researcher,
            works=row["works"],
            topics=row["topics"],
            close_collaborators=row["close_collaborators"],
        )

    async def _read_portable(
        self, researcher_id: int, works_limit: int, limit: int
    ) -> ProfileData | None:
        execute = self.session.execute
        found = (await execute(RESEARCHER, {"researcher_id": researcher_id})).first()
        if found is None:
            return None
        by_researcher = {"researcher_id": researcher_id, "limit": limit}
        collaborators = await execute(
            CLOSE_COLLABORATORS, {**by_researcher, "cluster_id": found.cluster_id}
        )
        return ProfileData(
            researcher=dict(found._mapping),
            works=(await execute(WORKS, {**by_researcher, "limit": works_limit})).all(),
            topics=(await execute(TOPICS, by_researcher)).all(),
            close_collaborators=collaborators.all(),
        )
