"""Sign-up, email confirmation, sign-in and sign-out, sessions and API keys. Never commits;
mails go out after the caller's commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Account, AccountSession, ApiKey, OneTimeToken, TokenPurpose
from service.accounts.repository import AccountRepository
from service.accounts.secrets import Passwords, new_token, token_digest
from service.config import Settings
from service.db.base import utcnow
from service.errors import BadUserInput, Forbidden, Unauthenticated
from service.events.service import emit
from service.text import clean_text, normalize_email

MAX_NAME_LENGTH = 200
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
API_KEY_PREFIX = "bzp_"
API_KEY_SCOPES = ("import",)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadUserInput(
            f"Password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
            argument="password",
        )


@dataclass(frozen=True)
class SignUpResult:
    email: str
    confirmation_token: str | None
    """None when the address belongs to a confirmed account (its owner gets a notice)."""


@dataclass(frozen=True)
class Confirmed:
    account: Account
    ended_sessions: list[int]
    """Sessions of the account before it was confirmed, ended (their sockets are closed)."""


@dataclass(frozen=True)
class PasswordReset:
    email: str
    token: str | None
    """None when no account has the address: nothing is mailed, the answer is the same."""


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
        """A confirmation token carrying this sign-up's password and name, for a new address
        (the account is created, unconfirmed) or one whose account nobody has confirmed yet
        (each sign-up gets its own token: the mail opened decides the password). A confirmed
        account's owner gets a notice instead. The answer and the work done are the same
        either way, so that neither says whether the address is taken."""
        email = normalize_email(email)
        name = clean_text(display_name, argument="displayName", max_length=MAX_NAME_LENGTH)
        if not name:
            raise BadUserInput("Give a display name.", argument="displayName")
        check_password(password)
        password_hash = await passwords.hash(password)
        repository = AccountRepository(session)
        account = await repository.get_by_email(email)
        if account is not None and account.email_confirmed:
            return SignUpResult(email=email, confirmation_token=None)
        if account is None:
            # The first sign-up's password, so that its author is told to confirm rather than
            # that the password is wrong; confirming sets the password of the mail opened.
            account = repository.add(
                Account(email=email, display_name=name, password_hash=password_hash)
            )
            await session.flush()
            emit(session, "accounts.created", account_id=account.id)
        token = self.issue_token(
            session,
            settings,
            account_id=account.id,
            purpose=TokenPurpose.CONFIRM_EMAIL,
            password_hash=password_hash,
            display_name=name,
        )
        return SignUpResult(email=email, confirmation_token=token)

    def issue_token(
        self,
        session: AsyncSession,
        settings: Settings,
        *,
        account_id: int,
        purpose: TokenPurpose,
        claim_id: int | None = None,
        lifetime: dt.timedelta | None = None,
        password_hash: str | None = None,
        display_name: str | None = None,
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
                password_hash=password_hash,
                display_name=display_name,
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

    async def confirm_email(self, session: AsyncSession, token: str) -> Confirmed:
        """Confirm the address with the password and name of the sign-up that mailed
        ``token``, and end every earlier session of the account."""
        row = await self.spend_token(session, token, TokenPurpose.CONFIRM_EMAIL)
        repository = AccountRepository(session)
        account = await repository.get_by_id(row.account_id)
        assert account is not None  # the token references the account
        if row.password_hash is not None:  # tokens from before migration 0010 carry none
            if account.email_confirmed:  # a second sign-up's mail, opened after the first
                raise BadUserInput("This address is confirmed already: sign in.", argument="token")
            account.password_hash = row.password_hash
            account.display_name = row.display_name or account.display_name
        return await self._confirmed(session, repository, account)

    async def request_password_reset(
        self, session: AsyncSession, settings: Settings, email: str
    ) -> PasswordReset:
        """A reset token for the account with this address, if there is one."""
        try:
            email = normalize_email(email)
        except BadUserInput:
            return PasswordReset(email=email, token=None)
        account = await AccountRepository(session).get_by_email(email)
        if account is None:
            return PasswordReset(email=email, token=None)
        token = self.issue_token(
            session,
            settings,
            account_id=account.id,
            purpose=TokenPurpose.RESET_PASSWORD,
            lifetime=dt.timedelta(minutes=settings.password_reset_ttl_minutes),
        )
        return PasswordReset(email=email, token=token)

    async def reset_password(
        self, session: AsyncSession, passwords: Passwords, token: str, password: str
    ) -> Confirmed:
        """Set a new password with a mailed reset token (which also confirms the address:
        the mail was opened) and end every session of the account."""
        check_password(password)
        row = await self.spend_token(session, token, TokenPurpose.RESET_PASSWORD)
        repository = AccountRepository(session)
        account = await repository.get_by_id(row.account_id)
        assert account is not None
        account.password_hash = await passwords.hash(password)
        return await self._confirmed(session, repository, account)

    async def _confirmed(
        self, session: AsyncSession, repository: AccountRepository, account: Account
    ) -> Confirmed:
        """The address counts as confirmed (the mail was opened); every session ends."""
        if account.email_confirmed_at is None:
            account.email_confirmed_at = utcnow()
            emit(session, "accounts.email_confirmed", account_id=account.id)
        ended = await repository.revoke_sessions_of(account.id, utcnow())
        return Confirmed(account=account, ended_sessions=ended)

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
        if not account.email_confirmed:
            raise Forbidden("Confirm your email address first: the link is in your mailbox.")
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

    async def revoke_api_keys(self, session: AsyncSession, name: str) -> int:
        """Revoke the active keys named ``name`` (they stop working at the next request)."""
        return await AccountRepository(session).revoke_api_keys(name, utcnow())

    async def authenticate_api_key(self, session: AsyncSession, key: str) -> ApiKey | None:
        return await AccountRepository(session).api_key_by_hash(token_digest(key))


accounts = AccountService()
