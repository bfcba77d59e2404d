"""Imports every domain's models, so that ``Base.metadata`` (what Alembic reads) is complete."""

from service.accounts.models import Account, AccountSession, ApiKey, OneTimeToken
from service.claims.models import Claim, Vouch
from service.db.base import Base
from service.events.models import OutboxEvent
from service.follows.models import Follow
from service.graph.models import Cluster, CoauthorEdge
from service.imports.models import ImportedFile, ImportNote, OpenAlexMerge
from service.institutions.models import Institution, InstitutionDomain
from service.invitations.models import Invitation
from service.researchers.models import Researcher, ResearcherTopic
from service.topics.models import Topic
from service.trust.models import TrustSnapshot
from service.works.models import Authorship, AuthorshipInstitution, Venue, Work, WorkTopic

__all__ = [
    "Account",
    "AccountSession",
    "ApiKey",
    "Authorship",
    "AuthorshipInstitution",
    "Base",
    "Claim",
    "Cluster",
    "CoauthorEdge",
    "Follow",
    "ImportNote",
    "ImportedFile",
    "Institution",
    "InstitutionDomain",
    "Invitation",
    "OneTimeToken",
    "OpenAlexMerge",
    "OutboxEvent",
    "Researcher",
    "ResearcherTopic",
    "Topic",
    "TrustSnapshot",
    "Venue",
    "Vouch",
    "Work",
    "WorkTopic",
]
