"""Accounts, follows and works for event tests, written straight through the models (signing up
thousands of accounts through the API would test Argon2, not events)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text

from service.accounts.models import Account, AccountSession
from service.accounts.secrets import new_token
from service.config import Settings
from service.db.base import utcnow
from service.db.engine import create_sessionmaker
from service.events.service import emit
from service.follows.models import Follow
from service.researchers.models import Researcher
from service.works.models import Authorship, Work, WorkTopic, WorkType
from tests.support import writer_engine


@dataclass(frozen=True)
class Member:
    account_id: int
    token: str


async def _accounts(settings: Settings, count: int) -> list[Member]:
    engine = writer_engine(settings)
    members: list[Member] = []
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            now = utcnow()
            batch = uuid.uuid4().hex[:8]
            accounts = [
                Account(
                    email=f"member-{batch}-{i}@example.org",
                    display_name=f"Member {i}",
                    password_hash=None,
                    email_confirmed_at=now,
                )
                for i in range(count)
            ]
            session.add_all(accounts)
            await session.flush()
            for account in accounts:
                plain, digest = new_token()
                session.add(
                    AccountSession(
                        account_id=account.id,
                        token_hash=digest,
                        created_at=now,
                        expires_at=now + dt.timedelta(days=1),
                    )
                )
                members.append(Member(account.id, plain))
    finally:
        await engine.dispose()
    return members


def confirmed_accounts(settings: Settings, count: int) -> list[Member]:
    """``count`` fresh accounts with confirmed emails and no claim, each with a session token."""
    return asyncio.run(_accounts(settings, count))


async def _follow_all(
    settings: Settings, researcher_id: int, account_ids: Sequence[int], per_commit: int
) -> None:
    engine = writer_engine(settings)
    try:
        for start in range(0, len(account_ids), per_commit):
            async with create_sessionmaker(engine)() as session, session.begin():
                for account_id in account_ids[start : start + per_commit]:
                    session.add(Follow(account_id=account_id, researcher_id=researcher_id))
                    emit(
                        session,
                        "follows.created",
                        account_id=account_id,
                        researcher_id=researcher_id,
                    )
    finally:
        await engine.dispose()


def follow_all(
    settings: Settings, researcher_id: int, account_ids: Sequence[int], per_commit: int = 1_000
) -> None:
    """Follows of one researcher by all these accounts with their events, ``per_commit`` to a
    transaction, exactly as ``follows.follow`` writes them."""
    asyncio.run(_follow_all(settings, researcher_id, account_ids, per_commit))


async def _add_work(
    settings: Settings, title: str, author_ids: Sequence[int], topic_ids: Sequence[int]
) -> int:
    engine = writer_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            work = Work(title=title, type=WorkType.ARTICLE, doi=f"10.5555/{uuid.uuid4().hex[:12]}")
            session.add(work)
            await session.flush()
            for position, researcher_id in enumerate(author_ids):
                session.add(
                    Authorship(work_id=work.id, researcher_id=researcher_id, position=position)
                )
            for topic_id in topic_ids:
                session.add(WorkTopic(work_id=work.id, topic_id=topic_id))
            emit(session, "works.added", work_id=work.id)
            return work.id
    finally:
        await engine.dispose()


def add_work(
    settings: Settings, title: str, author_ids: Sequence[int], topic_ids: Sequence[int] = ()
) -> int:
    """A new work by these researchers (on these topics) with its ``works.added`` event."""
    return asyncio.run(_add_work(settings, title, author_ids, topic_ids))


async def _query(settings: Settings, statement: str, params: dict[str, Any]) -> list[Any]:
    engine = writer_engine(settings)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


def sql(settings: Settings, statement: str, **params: Any) -> list[Any]:
    return asyncio.run(_query(settings, statement, params))


async def _researcher_ids(settings: Settings) -> list[int]:
    engine = writer_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return list(
                (await session.scalars(select(Researcher.id).order_by(Researcher.id))).all()
            )
    finally:
        await engine.dispose()


def researcher_ids(settings: Settings) -> list[int]:
    return asyncio.run(_researcher_ids(settings))


async def _add_researchers(settings: Settings, names: Sequence[str]) -> list[int]:
    engine = writer_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            added = [Researcher(display_name=name, search_name=name.lower()) for name in names]
            session.add_all(added)
            await session.flush()
            return [researcher.id for researcher in added]
    finally:
        await engine.dispose()


def add_researchers(settings: Settings, names: Sequence[str]) -> list[int]:
    """Author records with these names and nothing else, in order."""
    return asyncio.run(_add_researchers(settings, names))
