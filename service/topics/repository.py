from __future__ import annotations

from service.db.repository import RepositoryBase
from service.topics.models import Topic


class TopicRepository(RepositoryBase[Topic]):
    model = Topic
