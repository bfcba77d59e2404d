"""Sign-up, email confirmation, sign-in and sign-out, sessions and API keys. Never commits;
mails go out after the caller's commit."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Account, AccountSession, ApiKey, OneTimeToken, TokenPurpose
from service.accounts.repository import AccountRepository
from service.accounts.secrets import Passwords, new_token, token_digest
from service.config import Settings
from service.db.base import utcnow
from service.errors import BadUserInput, Unauthenticated
from service.events.service import emit

EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
API_KEY_PREFIX = "bzp_"
API_KEY_SCOPES = ("import",)


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 320 or not EMAIL.match(email):
        raise BadUserInput("Not a valid email address.", argument="email")
    return email


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


@dataclass(frozen=True)
class SignUpResult:
    account: Account
    confirmation_token: str | None
    """None when the email was already registered (the owner gets a notice instead)."""


@dataclass(frozen=True)
class SignInResult:
    account: Account
    token: str


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session_id: int
    """The account session the token belongs to (what signing out ends)."""


class AccountService:
    async def sign_up(
        self,
        session: AsyncSession,
        passwords: Passwords,
        settings: Settings,
        *,
        email: str,
        password: str,
        display_name: str,
    ) -> SignUpResult:
        """Create an unconfirmed account and a confirmation token. An email already registered
        gets an account-shaped answer that is not stored, after the same password hashing, so
        that neither the answer nor its timing says the address is taken."""
        email = normalize_email(email)
        name = display_name.strip()
        if not 1 <= len(name) <= 200:
            raise BadUserInput("Display name must be 1 to 200 characters.", argument="displayName")
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise BadUserInput(
                f"Password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
                argument="password",
            )
        password_hash = await passwords.hash(password)
        repository = AccountRepository(session)
        if await repository.get_by_email(email) is not None:
            decoy = Account(id=secrets.randbelow(2**62) + 2**40, email=email, display_name=name)
            return SignUpResult(account=decoy, confirmation_token=None)
        account = repository.add(
            Account(email=email, display_name=name, password_hash=password_hash)
        )
        await session.flush()
        token = self.issue_token(
            session, settings, account_id=account.id, purpose=TokenPurpose.CONFIRM_EMAIL
        )
        emit(session, "accounts.created", account_id=account.id)
        return SignUpResult(account=account, confirmation_token=token)

    def issue_token(
        self,
        session: AsyncSession,
        settings: Settings,
        *,
        account_id: int,
        purpose: TokenPurpose,
        claim_id: int | None = None,
        lifetime: dt.timedelta | None = None,
    ) -> str:
        """``lifetime``: the mail links' (``email_token_ttl_hours``) unless given."""
        plain, digest = new_token()
        now = utcnow()
        session.add(
            OneTimeToken(
                account_id=account_id,
                purpose=purpose,
                token_hash=digest,
                claim_id=claim_id,
                created_at=now,
                expires_at=now + (lifetime or dt.timedelta(hours=settings.email_token_ttl_hours)),
            )
        )
        return plain

    async def spend_token(
        self, session: AsyncSession, token: str, purpose: TokenPurpose
    ) -> OneTimeToken:
        """The token's row, marked used; BAD_USER_INPUT when it is unknown, used or expired."""
        repository = AccountRepository(session)
        now = utcnow()
        row = await repository.usable_token(token_digest(token), purpose, now)
        if row is None or not await repository.spend_token(row, now):
            raise BadUserInput("This link is invalid, used or expired.", argument="token")
        return row

    async def confirm_email(self, session: AsyncSession, token: str) -> Account:
        row = await self.spend_token(session, token, TokenPurpose.CONFIRM_EMAIL)
        account = await AccountRepository(session).get_by_id(row.account_id)
        assert account is not None  # the token references the account
        if account.email_confirmed_at is None:
            account.email_confirmed_at = utcnow()
            emit(session, "accounts.email_confirmed", account_id=account.id)
        return account

    async def sign_in(
        self,
        session: AsyncSession,
        passwords: Passwords,
        settings: Settings,
        *,
        email: str,
        password: str,
    ) -> SignInResult:
        """A new session token. Unknown email and wrong password answer alike, in like time."""
        try:
            email = normalize_email(email)
        except BadUserInput:
            email = ""
        account = await AccountRepository(session).get_by_email(email) if email else None
        check = await passwords.verify(account.password_hash if account else None, password)
        if account is None or not check.ok:
            raise Unauthenticated("Wrong email or password.")
        if check.new_hash:
            account.password_hash = check.new_hash
        plain, digest = new_token()
        now = utcnow()
        session.add(
            AccountSession(
                account_id=account.id,
                token_hash=digest,
                created_at=now,
                expires_at=now + dt.timedelta(days=settings.session_ttl_days),
            )
        )
        return SignInResult(account=account, token=plain)

    async def sign_out(self, session: AsyncSession, token: str) -> list[int]:
        """End the session of ``token``; the ids of the sessions ended (none when it had
        already ended)."""
        return await AccountRepository(session).revoke_session(token_digest(token), utcnow())

    async def authenticate(self, session: AsyncSession, token: str) -> SignedIn | None:
        found = await AccountRepository(session).active_session(token_digest(token), utcnow())
        return SignedIn(account=found[1], session_id=found[0].id) if found else None

    async def create_api_key(self, session: AsyncSession, *, name: str, scope: str) -> str:
        """A new integrator key, returned once; only its digest is stored."""
        if scope not in API_KEY_SCOPES:
            raise BadUserInput(f"Unknown scope {scope!r}; known: {', '.join(API_KEY_SCOPES)}.")
        plain, digest = new_token(API_KEY_PREFIX)
        session.add(ApiKey(name=name, scope=scope, key_hash=digest, created_at=utcnow()))
        return plain

    async def authenticate_api_key(self, session: AsyncSession, key: str) -> ApiKey | None:
        return await AccountRepository(session).api_key_by_hash(token_digest(key))


accounts = AccountService()
