"""The rows of the integrator document (``service/documents/integrator_nested.graphql``) for
its compiled plan (``integrator_plan.py``): a researcher's page of works, each with its first
topics and its author list, each author with its trust snapshot and first topics, each
authorship with its institutions, in one PostgreSQL statement whatever the page size. The
lists are arrays of anonymous records, nested as the document nests them; asyncpg decodes them
into tuples. Orders are the general path's: ``BY_RECENCY``, ``BY_TOPIC_SCORE``,
``BY_TOPIC_WORKS``, author position, institution id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

INTEGRATOR_POSTGRESQL = """
SELECT r.id, r.display_name, r.merged_into_id,
       (SELECT count(*) FROM authorships AS a WHERE a.researcher_id = r.id) AS works_total,
       ARRAY(
           SELECT ROW(
               w.id, coalesce(w.publication_year, 0), w.title, w.publication_year, w.doi,
               w.openalex_id, w.cited_by_count,
               ARRAY(
                   SELECT ROW(t.id, t.display_name)
                   FROM work_topics AS wt JOIN topics AS t ON t.id = wt.topic_id
                   WHERE wt.work_id = w.id
                   ORDER BY wt.score DESC, wt.topic_id DESC
                   LIMIT $3
               ),
               ARRAY(
                   SELECT ROW(
                       au.position, c.id, c.display_name, c.orcid, ct.score,
                       ct.verification_level,
                       ARRAY(
                           SELECT ROW(tp.id, tp.display_name)
                           FROM researcher_topics AS rt JOIN topics AS tp ON tp.id = rt.topic_id
                           WHERE rt.researcher_id = c.id
                           ORDER BY rt.work_count DESC, rt.topic_id DESC
                           LIMIT $5
                       ),
                       ARRAY(
                           SELECT ROW(i.id, i.display_name, i.ror_id, i.country_code)
                           FROM authorship_institutions AS ai
                           JOIN institutions AS i ON i.id = ai.institution_id
                           WHERE ai.authorship_id = au.id
                           ORDER BY i.id
                       )
                   )
                   FROM authorships AS au
                   JOIN researchers AS c ON c.id = au.researcher_id
                   LEFT JOIN trust_snapshots AS ct ON ct.researcher_id = c.id AND ct.is_current
                   WHERE au.work_id = w.id
                   ORDER BY au.position
                   LIMIT $4
               )
           )
           FROM authorships AS a JOIN works AS w ON w.id = a.work_id
           WHERE a.researcher_id = r.id
           ORDER BY coalesce(w.publication_year, 0) DESC, w.id DESC
           LIMIT $2
       ) AS works
FROM researchers AS r
WHERE r.id = $1
"""


@dataclass(frozen=True)
class IntegratorData:
    researcher_id: int
    display_name: str
    merged_into_id: int | None
    works_total: int
    works: Sequence[tuple[Any, ...]]
    """(id, year key, title, year, doi, openalex id, cited by, topics, authorships) per work;
    topics as (id, name); authorships as (position, author id, name, orcid, trust score, trust
    level, topics, institutions); institutions as (id, name, ror id, country code)."""


class IntegratorRows:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read(
        self,
        researcher_id: int,
        *,
        works_limit: int,
        work_topics: int,
        authors: int,
        author_topics: int,
    ) -> IntegratorData | None:
        """PostgreSQL only: the session's own connection, straight through the driver (as the
        profile page's rows, ``profile_rows.py``)."""
        connection = await (await self.session.connection()).get_raw_connection()
        driver: Any = connection.driver_connection
        row = await driver.fetchrow(
            INTEGRATOR_POSTGRESQL, researcher_id, works_limit, work_topics, authors, author_topics
        )
        if row is None:
            return None
        return IntegratorData(
            researcher_id=row["id"],
            display_name=row["display_name"],
            merged_into_id=row["merged_into_id"],
            works_total=row["works_total"],
            works=row["works"],
        )
