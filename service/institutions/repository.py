from __future__ import annotations

from service.db.repository import RepositoryBase
from service.institutions.models import Institution


class InstitutionRepository(RepositoryBase[Institution]):
    model = Institution
