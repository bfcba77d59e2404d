"""Loads the demo graph through the ordinary models and derived-data services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.demo import data
from service.institutions.models import Institution, InstitutionDomain
from service.recompute import recompute_all
from service.researchers.models import Researcher
from service.researchers.names import fold_name
from service.topics.models import Topic, TopicLevel
from service.works.models import Authorship, Venue, Work, WorkTopic


async def demo_loaded(session: AsyncSession) -> bool:
    stmt = select(Work.id).where(Work.arxiv_id == data.SEED_WORK.arxiv_id).limit(1)
    return (await session.scalar(stmt)) is not None


async def load_demo(session: AsyncSession, *, seed: int) -> bool:
    """Add the demo graph and compute everything derived from it. Returns False (and changes
    nothing) when it is already there. The caller commits."""
    if await demo_loaded(session):
        return False
    institution = Institution(
        display_name=data.DEMO_INSTITUTION, country_code="DE", type="education"
    )
    institution.domains = [InstitutionDomain(domain=data.DEMO_DOMAIN)]
    session.add(institution)
    venues = {name: Venue(display_name=name, type=kind) for name, kind in data.VENUES.items()}
    topics = _topics(session)
    researchers = {
        r.name: Researcher(
            display_name=r.name,
            search_name=fold_name(r.name),
            description=data.description_for(r.name),
            open_to_collaborate=r.open_to_collaborate,
            affiliation=institution if r.affiliation else None,
        )
        for r in data.RESEARCHERS
    }
    session.add_all([*venues.values(), *researchers.values()])
    await session.flush()
    for spec in data.WORKS:
        work = Work(
            title=spec.title,
            abstract=spec.abstract,
            type=spec.type,
            publication_year=spec.year,
            publication_date=spec.publication_date,
            arxiv_id=spec.arxiv_id,
            venue_id=venues[spec.venue].id if spec.venue else None,
        )
        session.add(work)
        await session.flush()
        for position, name in enumerate(spec.authors, start=1):
            authorship = Authorship(
                work_id=work.id,
                researcher_id=researchers[name].id,
                position=position,
                raw_author_name=name,
            )
            if name in spec.institutions:
                authorship.institutions = [institution]
            session.add(authorship)
        for rank, topic in enumerate(spec.topics):
            session.add(
                WorkTopic(work_id=work.id, topic_id=topics[topic].id, score=1.0 - rank * 0.1)
            )
    await session.flush()
    await recompute_all(session, seed=seed)
    return True


def _topics(session: AsyncSession) -> dict[str, Topic]:
    """The demo topics with their subfield, field and domain parents, each created once."""
    created: dict[tuple[TopicLevel, str], Topic] = {}

    def node(level: TopicLevel, name: str, parent: Topic | None) -> Topic:
        key = (level, name)
        if key not in created:
            created[key] = Topic(display_name=name, level=level, parent=parent)
            session.add(created[key])
        return created[key]

    topics = {}
    for name, (subfield, field, domain) in data.TOPICS.items():
        domain_node = node(TopicLevel.DOMAIN, domain, None)
        field_node = node(TopicLevel.FIELD, field, domain_node)
        subfield_node = node(TopicLevel.SUBFIELD, subfield, field_node)
        topics[name] = node(TopicLevel.TOPIC, name, subfield_node)
    return topics
