from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from service.accounts.models import Account, AccountSession, ApiKey, OneTimeToken, TokenPurpose
from service.db.repository import RepositoryBase


class AccountRepository(RepositoryBase[Account]):
    model = Account

    async def get_by_email(self, email: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.email == email))

    async def active_session(
        self, token_hash: str, now: dt.datetime
    ) -> tuple[AccountSession, Account] | None:
        stmt = (
            select(AccountSession, Account)
            .join(Account, Account.id == AccountSession.account_id)
            .where(
                AccountSession.token_hash == token_hash,
                AccountSession.revoked_at.is_(None),
                AccountSession.expires_at > now,
            )
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def revoke_session(self, token_hash: str, now: dt.datetime) -> list[int]:
        result = await self.session.scalars(
            update(AccountSession)
            .where(AccountSession.token_hash == token_hash, AccountSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(AccountSession.id)
        )
        return list(result.all())

    async def revoke_sessions_of(self, account_id: int, now: dt.datetime) -> list[int]:
        """End every session of the account; the ids ended."""
        result = await self.session.scalars(
            update(AccountSession)
            .where(AccountSession.account_id == account_id, AccountSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(AccountSession.id)
        )
        return list(result.all())

    async def usable_token(
        self, token_hash: str, purpose: TokenPurpose, now: dt.datetime
    ) -> OneTimeToken | None:
        stmt = select(OneTimeToken).where(
            OneTimeToken.token_hash == token_hash,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        return await self.session.scalar(stmt)

    async def spend_token(self, token: OneTimeToken, now: dt.datetime) -> bool:
        """Mark ``token`` used; False when a concurrent request spent it first."""
        result = await self.session.execute(
            update(OneTimeToken)
            .where(OneTimeToken.id == token.id, OneTimeToken.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def revoke_api_keys(self, name: str, now: dt.datetime) -> int:
        """Revoke every active key named ``name``; how many."""
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
