"""Per-request DataLoaders, built lazily: one batch (one SQL statement) per level of a query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from service.accounts.models import Account
from service.accounts.repository import AccountRepository
from service.claims.models import Claim
from service.claims.repository import ClaimRepository
from service.db.paging import Page, PageRequest
from service.db.repository import RepositoryBase
from service.follows.repository import FollowRepository
from service.graph.repository import ClusterRepository, CoauthorGraphRepository
from service.institutions.repository import InstitutionRepository
from service.researchers.models import Researcher
from service.researchers.repository import ResearcherRepository
from service.search.criteria import Bucket, WorkCriteria, WorkFacet
from service.search.service import search
from service.topics.repository import TopicRepository
from service.trust.models import TrustSnapshot
from service.trust.repository import TrustRepository
from service.works.models import Authorship
from service.works.repository import VenueRepository, WorkRepository

if TYPE_CHECKING:
    from service.graphql.context import Context

K = TypeVar("K")
V = TypeVar("V")
PageKey = tuple[int, PageRequest]
FacetKey = tuple[WorkCriteria, WorkFacet, int]


def by_id_loader(repository: RepositoryBase[Any]) -> DataLoader[int, Any]:
    async def load(ids: Sequence[int]) -> list[Any]:
        found = {obj.id: obj for obj in await repository.list_by_ids(ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def mapped_loader(fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]]) -> DataLoader[K, V]:
    async def load(keys: Sequence[K]) -> list[V]:
        found = await fetch(list(keys))
        return [found[k] for k in keys]

    return DataLoader(load_fn=load)


def page_loader(
    fetch: Callable[[list[int], PageRequest], Awaitable[Mapping[int, Page[Any]]]],
) -> DataLoader[PageKey, Page[Any]]:
    """Pages of many parents; parents that ask for the same page shape share one statement."""

    async def load(keys: Sequence[PageKey]) -> list[Page[Any]]:
        by_request: dict[PageRequest, list[int]] = {}
        for parent_id, request in keys:
            by_request.setdefault(request, []).append(parent_id)
        pages: dict[PageKey, Page[Any]] = {}
        for request, parent_ids in by_request.items():
            for parent_id, page in (await fetch(parent_ids, request)).items():
                pages[(parent_id, request)] = page
        return [pages[key] for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """Every loader of one request. Named ``<thing>_by_<key>``, aligned with their keys."""

    def __init__(self, session: AsyncSession, context: Context) -> None:
        self.session = session
        self.context = context

    @cached_property
    def researcher_by_id(self) -> DataLoader[int, Researcher | None]:
        """A merged author record's id loads its survivor."""
        return mapped_loader(ResearcherRepository(self.session).current)

    @cached_property
    def work_by_id(self) -> DataLoader[int, Any]:
        return by_id_loader(WorkRepository(self.session))

    @cached_property
    def venue_by_id(self) -> DataLoader[int, Any]:
        return by_id_loader(VenueRepository(self.session))

    @cached_property
    def topic_by_id(self) -> DataLoader[int, Any]:
        return by_id_loader(TopicRepository(self.session))

    @cached_property
    def institution_by_id(self) -> DataLoader[int, Any]:
        return by_id_loader(InstitutionRepository(self.session))

    @cached_property
    def work_page_by_researcher(self) -> DataLoader[PageKey, Page[Any]]:
        return page_loader(WorkRepository(self.session).work_pages_by_researcher)

    @cached_property
    def work_count_by_researcher(self) -> DataLoader[int, int]:
        return mapped_loader(WorkRepository(self.session).count_works_by_researcher)

    @cached_property
    def topic_page_by_researcher(self) -> DataLoader[PageKey, Page[Any]]:
        return page_loader(ResearcherRepository(self.session).topic_pages)

    @cached_property
    def topic_count_by_researcher(self) -> DataLoader[int, int]:
        return mapped_loader(ResearcherRepository(self.session).count_topics)

    @cached_property
    def close_collaborator_page_by_researcher(self) -> DataLoader[PageKey, Page[Any]]:
        return page_loader(ResearcherRepository(self.session).close_collaborator_pages)

    @cached_property
    def close_collaborator_count_by_researcher(self) -> DataLoader[int, int]:
        return mapped_loader(ResearcherRepository(self.session).count_close_collaborators)

    @cached_property
    def coauthor_page_by_researcher(self) -> DataLoader[PageKey, Page[Any]]:
        return page_loader(ResearcherRepository(self.session).coauthor_pages)

    @cached_property
    def coauthor_count_by_researcher(self) -> DataLoader[int, int]:
        return mapped_loader(ResearcherRepository(self.session).count_coauthors)

    @cached_property
    def joint_works_by_pair(self) -> DataLoader[tuple[int, int], int]:
        repository = CoauthorGraphRepository(self.session)

        async def fetch(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
            found = await repository.joint_works(pairs)
            return {pair: found.get(pair, 0) for pair in pairs}

        return mapped_loader(fetch)

    @cached_property
    def cluster_by_id(self) -> DataLoader[int, Any]:
        return by_id_loader(ClusterRepository(self.session))

    @cached_property
    def member_page_by_cluster(self) -> DataLoader[PageKey, Page[Any]]:
        return page_loader(ResearcherRepository(self.session).member_pages)

    @cached_property
    def top_topic_ids_by_cluster(self) -> DataLoader[tuple[int, int], list[int]]:
        repository = ResearcherRepository(self.session)

        async def fetch(keys: list[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
            limit = max(n for _, n in keys)
            topics = await repository.top_topics_of_clusters([c for c, _ in keys], limit)
            return {(c, n): topics[c][:n] for c, n in keys}

        return mapped_loader(fetch)

    @cached_property
    def authorships_by_work(self) -> DataLoader[int, list[Authorship]]:
        return mapped_loader(WorkRepository(self.session).authorships_by_work)

    @cached_property
    def topic_page_by_work(self) -> DataLoader[PageKey, Page[Any]]:
        return page_loader(WorkRepository(self.session).topic_pages_by_work)

    @cached_property
    def topic_count_by_work(self) -> DataLoader[int, int]:
        return mapped_loader(WorkRepository(self.session).count_topics_by_work)

    @cached_property
    def account_by_id(self) -> DataLoader[int, Account | None]:
        return by_id_loader(AccountRepository(self.session))

    @cached_property
    def active_claim_by_account(self) -> DataLoader[int, Claim | None]:
        repository = ClaimRepository(self.session)

        async def fetch(ids: list[int]) -> dict[int, Claim | None]:
            found = await repository.active_claims_of_accounts(ids)
            return {i: found.get(i) for i in ids}

        return mapped_loader(fetch)

    @cached_property
    def verified_claimant_by_researcher(self) -> DataLoader[int, int | None]:
        repository = ClaimRepository(self.session)

        async def fetch(ids: list[int]) -> dict[int, int | None]:
            found = await repository.verified_claimants(ids)
            return {i: found.get(i) for i in ids}

        return mapped_loader(fetch)

    @cached_property
    def viewer_follows_researcher(self) -> DataLoader[int, bool]:
        """Whether the viewer follows each researcher (all false when nobody is signed in)."""
        repository = FollowRepository(self.session)

        async def fetch(ids: list[int]) -> dict[int, bool]:
            viewer = self.context.viewer
            followed = await repository.followed_among(viewer.id, ids) if viewer else set()
            return {i: i in followed for i in ids}

        return mapped_loader(fetch)

    def clear_viewer_state(self) -> None:
        """Forget what was loaded about the viewer's follows and claims (after a change)."""
        for name in (
            "viewer_follows_researcher",
            "active_claim_by_account",
            "verified_claimant_by_researcher",
        ):
            self.__dict__.pop(name, None)

    @cached_property
    def trust_history_by_researcher(self) -> DataLoader[tuple[int, int], list[TrustSnapshot]]:
        repository = TrustRepository(self.session)

        async def fetch(keys: list[tuple[int, int]]) -> dict[tuple[int, int], list[TrustSnapshot]]:
            limit = max(limit for _, limit in keys)
            history = await repository.history([rid for rid, _ in keys], limit)
            return {(rid, n): history[rid][:n] for rid, n in keys}

        return mapped_loader(fetch)

    @cached_property
    def work_facets(self) -> DataLoader[FacetKey, list[Bucket]]:
        """A works search's facets: every facet one request selects, in one statement."""

        async def load(keys: Sequence[FacetKey]) -> list[list[Bucket]]:
            wanted: dict[WorkCriteria, dict[WorkFacet, int]] = {}
            for criteria, facet, limit in keys:
                sizes = wanted.setdefault(criteria, {})
                sizes[facet] = max(limit, sizes.get(facet, 0))
            found = {
                criteria: await search.work_facets(self.session, criteria, sizes)
                for criteria, sizes in wanted.items()
            }
            return [found[criteria][facet][:limit] for criteria, facet, limit in keys]

        return DataLoader(load_fn=load)
