"""Claims of researcher records and vouches between verified co-authors. Never commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Account, TokenPurpose
from service.accounts.service import accounts, email_domain
from service.claims import orcid
from service.claims.evidence import address_digest
from service.claims.models import Claim, ClaimMethod, ClaimStatus, Vouch
from service.claims.repository import ClaimRepository
from service.config import Settings
from service.db.base import utcnow
from service.errors import BadUserInput, Conflict, Forbidden, NotFound
from service.events.service import emit
from service.researchers.models import Researcher
from service.researchers.repository import ResearcherRepository
from service.text import normalize_email
from service.trust.repository import TrustRepository
from service.trust.score import VerificationLevel


@dataclass(frozen=True)
class ClaimRequest:
    claim: Claim
    authorize_url: str | None = None
    """ORCID method: where the claimant signs in."""
    verification_token: str | None = None
    """Institutional-email method: the one-time token to mail to ``claim.evidence``."""
    orcid_state: str | None = None
    """ORCID method: the sign-in's ``state``, for the asking browser's cookie."""
    address: str | None = None
    """Institutional-email method: where to mail the token (the claim keeps a digest)."""


class ClaimService:
    async def check_can_claim(
        self, session: AsyncSession, account: Account, researcher: Researcher
    ) -> None:
        """FORBIDDEN or CONFLICT when ``account`` may not claim ``researcher`` now."""
        if not account.email_confirmed:
            raise Forbidden("Confirm your email address before claiming a record.")
        repository = ClaimRepository(session)
        verified = await repository.verified_claimants([researcher.id])
        if researcher.id in verified and verified[researcher.id] != account.id:
            raise Conflict("This record already has a verified claimant.")
        active = await repository.active_claim_of_account(account.id)
        if active is not None and active.researcher_id != researcher.id:
            raise Conflict("You already claim another record; an account claims one.")
        if active is not None and active.status is ClaimStatus.VERIFIED:
            raise Conflict("You have already verified your claim of this record.")

    async def request(
        self,
        session: AsyncSession,
        settings: Settings,
        account: Account,
        researcher: Researcher,
        method: ClaimMethod,
        email: str | None,
    ) -> ClaimRequest:
        await self.check_can_claim(session, account, researcher)
        repository = ClaimRepository(session)
        if method is ClaimMethod.INSTITUTIONAL_EMAIL:
            if not email:
                raise BadUserInput("Give the institutional email address.", argument="email")
            address = normalize_email(email)
            since = utcnow().year - settings.claim_email_recent_years
            domains = await repository.institution_domains(researcher.id, since)
            # Only a domain an institution lists: a subdomain of it (a department's or a
            # student society's host) proves nothing about the institution's staff.
            if email_domain(address) not in domains:
                raise BadUserInput(
                    "That address is not at this record's affiliation or at an institution "
                    f"of its works since {since}.",
                    argument="email",
                )
            digest = address_digest(address)
            if await repository.address_verified(digest):
                raise Conflict("This address has already verified a record; it verifies one.")
            evidence, evidence_hash = None, digest
        else:
            if not settings.orcid_configured:
                raise BadUserInput("ORCID sign-in is not configured on this service.")
            if researcher.orcid is None:
                raise BadUserInput("This record has no ORCID iD to sign in with.")
            evidence, evidence_hash, address = researcher.orcid, None, None
        await repository.expire_pending(account.id, researcher.id)
        lifetime = (
            orcid.state_lifetime(settings)
            if method is ClaimMethod.ORCID
            else dt.timedelta(hours=settings.email_token_ttl_hours)
        )
        claim = repository.add(
            Claim(
                account_id=account.id,
                researcher_id=researcher.id,
                method=method,
                status=ClaimStatus.PENDING,
                evidence=evidence,
                evidence_hash=evidence_hash,
                expires_at=utcnow() + lifetime,
            )
        )
        await session.flush()
        purpose = (
            TokenPurpose.VERIFY_CLAIM
            if method is ClaimMethod.INSTITUTIONAL_EMAIL
            else TokenPurpose.ORCID_STATE
        )
        token = accounts.issue_token(
            session,
            settings,
            account_id=account.id,
            purpose=purpose,
            claim_id=claim.id,
            lifetime=lifetime,
        )
        emit(
            session,
            "claims.requested",
            claim_id=claim.id,
            researcher_id=researcher.id,
            account_id=account.id,
            method=method.value,
        )
        if method is ClaimMethod.ORCID:
            return ClaimRequest(
                claim=claim, authorize_url=orcid.authorize_url(settings, token), orcid_state=token
            )
        return ClaimRequest(claim=claim, verification_token=token, address=address)

    async def verify_by_token(
        self, session: AsyncSession, account: Account, claim_id: int, token: str
    ) -> Claim:
        claim = await ClaimRepository(session).get_by_id(claim_id)
        if claim is None:
            raise NotFound("No such claim.")
        if claim.account_id != account.id:
            raise Forbidden("This claim is not yours.")
        if claim.status is not ClaimStatus.PENDING:
            raise Conflict(f"This claim is {claim.status.value.lower()}, not pending.")
        spent = await accounts.spend_token(session, token, TokenPurpose.VERIFY_CLAIM)
        if spent.claim_id != claim.id:
            raise BadUserInput("This link is invalid, used or expired.", argument="token")
        return await self._verify(session, claim)

    async def complete_orcid(
        self,
        session: AsyncSession,
        settings: Settings,
        state: str,
        code: str,
        *,
        started_here: bool,
        browser_account_id: int | None,
    ) -> Claim:
        """The ORCID callback: the claim named by ``state`` is verified when the iD that signed
        in is the record's, rejected otherwise. Only in the browser that asked for the sign-in
        (``started_here``: it holds the state cookie) or one signed in as the claimant: else
        FORBIDDEN, and the caller's rollback leaves the claim and its state as they were."""
        spent = await accounts.spend_token(session, state, TokenPurpose.ORCID_STATE)
        claim = await ClaimRepository(session).get_by_id(spent.claim_id or 0)
        if claim is None or claim.status is not ClaimStatus.PENDING:
            raise BadUserInput("This sign-in does not belong to a pending claim.")
        if not started_here and browser_account_id != claim.account_id:
            raise Forbidden(
                "This ORCID sign-in was started by another account, in another browser: "
                "only the account that asked for it can complete its claim."
            )
        signed_in = await orcid.exchange_code(settings, code)
        if signed_in != claim.evidence:
            claim.status = ClaimStatus.REJECTED
            emit(session, "claims.rejected", claim_id=claim.id, researcher_id=claim.researcher_id)
        else:
            await self._verify(session, claim)
        return claim

    async def expire_overdue(self, session: AsyncSession, limit: int = 500) -> int:
        """Mark EXPIRED the pending claims whose code has expired, each with an event that
        recomputes its record's trust (the record falls back to what it is without the
        claim). Returns how many."""
        overdue = await ClaimRepository(session).take_overdue(utcnow(), limit)
        for claim in overdue:
            claim.status = ClaimStatus.EXPIRED
            emit(
                session,
                "claims.expired",
                claim_id=claim.id,
                researcher_id=claim.researcher_id,
                account_id=claim.account_id,
            )
        return len(overdue)

    async def _verify(self, session: AsyncSession, claim: Claim) -> Claim:
        repository = ClaimRepository(session)
        verified = await repository.verified_claimants([claim.researcher_id])
        if claim.researcher_id in verified:
            raise Conflict("This record already has a verified claimant.")
        if claim.evidence_hash and await repository.address_verified(claim.evidence_hash):
            raise Conflict("This address has already verified a record; it verifies one.")
        claim.status = ClaimStatus.VERIFIED
        claim.verified_at = utcnow()
        try:
            await session.flush()
        except IntegrityError as race:  # the unique indexes: one verified a moment before
            raise Conflict("Another claim of this record or address was just verified.") from race
        emit(
            session,
            "claims.verified",
            claim_id=claim.id,
            researcher_id=claim.researcher_id,
            account_id=claim.account_id,
        )
        return claim

    async def verified_record_of(self, session: AsyncSession, account: Account) -> Researcher:
        """The record ``account`` has verified; FORBIDDEN when there is none."""
        claim = await ClaimRepository(session).active_claim_of_account(account.id)
        if claim is None or claim.status is not ClaimStatus.VERIFIED:
            raise Forbidden("Verify your claim of your own record first.")
        record = await ResearcherRepository(session).get_by_id(claim.researcher_id)
        assert record is not None
        return record

    async def vouch(self, session: AsyncSession, account: Account, researcher: Researcher) -> bool:
        """Vouch for a co-author's record as an identity-verified (L3+) researcher; False when
        already vouched."""
        voucher = await self.verified_record_of(session, account)
        if voucher.id == researcher.id:
            raise Forbidden("You cannot vouch for your own record.")
        level = (await TrustRepository(session).current_levels([voucher.id])).get(voucher.id)
        if level is None or level.rank < VerificationLevel.L3.rank:
            raise Forbidden("Only identity-verified (L3+) researchers can vouch.")
        repository = ClaimRepository(session)
        if not await repository.are_coauthors(voucher.id, researcher.id):
            raise Forbidden("You can vouch only for your co-authors.")
        if await repository.vouch_exists(voucher.id, researcher.id):
            return False
        session.add(
            Vouch(
                voucher_account_id=account.id,
                voucher_researcher_id=voucher.id,
                researcher_id=researcher.id,
            )
        )
        emit(
            session,
            "vouches.created",
            researcher_id=researcher.id,
            voucher_researcher_id=voucher.id,
        )
        return True


claims = ClaimService()
