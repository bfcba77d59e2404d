"""Authorization everywhere, rate limits, API keys, atomic events, mail in the embedded
default."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from service.accounts.secrets import Passwords
from service.app import create_app
from service.graphql.relay import from_global_id
from service.researchers.service import orcid_from_digits
from tests.accounts.conftest import Site, run_sql, site_settings
from tests.accounts.test_viewer_actions import (
    VIEWER,
    claim_by_email,
    email,
    new_record,
    orcid_round_trip,
    request_orcid_claim,
    returned_to_profile,
)
from tests.peers import code_in
from tests.support import (
    REPO,
    LiveServer,
    create_database,
    drop_database,
    errors_of,
    eventually,
    http_client,
    http_post,
    load_demo_into,
    serve,
    settings_for,
)

NEEDS_SIGN_IN = {
    "SignOut": {},
    "Follow": {"id": "R"},
    "Unfollow": {"id": "R"},
    "RequestClaim": {"id": "R", "method": "INSTITUTIONAL_EMAIL"},
    "RequestEmailClaim": {"id": "R", "email": "a@demo.bzpeer.test"},
    "VerifyClaim": {"claimId": "Q2xhaW06MQ==", "token": "t"},
    "Vouch": {"id": "R"},
    "UpdateProfile": {"description": "x"},
    "InviteToCollaborate": {"id": "R", "message": "hi"},
}


class TestAuthorization:
    def test_every_mutation_needs_a_session(self, site: Site) -> None:
        seed = site.researcher_id("Kaiyue Lu")
        for operation, variables in NEEDS_SIGN_IN.items():
            filled = {k: seed if v == "R" else v for k, v in variables.items()}
            assert errors_of(site.op(operation, None, **filled)) == ["UNAUTHENTICATED"], operation
            assert errors_of(site.op(operation, "not-a-token", **filled)) == ["UNAUTHENTICATED"], (
                operation
            )

    def test_a_second_account_cannot_touch_the_first_ones_objects(self, site: Site) -> None:
        owner = site.account(email())
        record = new_record(site, "Olga Owner")
        claim = claim_by_email(site, owner, record, f"olga-{uuid.uuid4().hex[:6]}@demo.bzpeer.test")
        inviter = site.account(email())
        inviter_record = new_record(site, "Ian Inviter")
        claim_by_email(
            site, inviter, inviter_record, f"ian-{uuid.uuid4().hex[:6]}@demo.bzpeer.test"
        )
        invitation = site.op("InviteToCollaborate", inviter, id=record, message="hello")["data"][
            "inviteToCollaborate"
        ]["invitation"]
        pending_owner = site.account(email())
        pending_record = new_record(site, "Pia Pending")
        pending = site.op(
            "RequestEmailClaim",
            pending_owner,
            id=pending_record,
            email=f"pia-{uuid.uuid4().hex[:6]}@demo.bzpeer.test",
        )["data"]["requestClaim"]["claim"]

        intruder = site.account(email())
        attempts = {
            "verify another's claim": site.op(
                "VerifyClaim", intruder, claimId=pending["id"], token="guess"
            ),
            "re-verify a verified claim": site.op(
                "VerifyClaim", intruder, claimId=claim["id"], token="guess"
            ),
            "claim a verified record": site.op(
                "RequestEmailClaim", intruder, id=record, email="x@demo.bzpeer.test"
            ),
            "edit a profile": site.op(
                "UpdateProfile", intruder, description="hacked", openToCollaborate=False
            ),
            "vouch as nobody": site.op("Vouch", intruder, id=record),
            "invite as nobody": site.op("InviteToCollaborate", intruder, id=record, message="spam"),
            "answer another's invitation": site.server.graphql(
                "mutation($id: ID!) { respondToInvitation(input: {invitationId: $id, "
                "accept: false}) { invitation { status } } }",
                {"id": invitation["id"]},
                token=intruder,
            ),
            "list another's followers": site.server.graphql(
                "query($id: ID!) { researcher(id: $id) { followers { edges { node { "
                "displayName } } } } }",
                {"id": record},
                token=intruder,
            ),
        }
        succeeded = [name for name, body in attempts.items() if not body.get("errors")]
        assert succeeded == []
        codes = {name: errors_of(body)[0] for name, body in attempts.items()}
        assert set(codes.values()) <= {"FORBIDDEN", "CONFLICT"}, codes
        (description,) = site.sql(
            "SELECT description FROM researchers WHERE display_name = 'Olga Owner'"
        )[0]
        assert description is None
        (status,) = site.sql(
            "SELECT c.status FROM claims c JOIN researchers r ON r.id = c.researcher_id "
            "WHERE r.display_name = 'Pia Pending'"
        )[0]
        assert status == "PENDING"


REFUSE_FOLLOW_EVENT = {
    "postgresql": [
        "CREATE FUNCTION refuse_follow_event() RETURNS trigger AS $$ BEGIN "
        "IF NEW.event_type = 'follows.created' THEN RAISE EXCEPTION "
        "'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_follow_event BEFORE INSERT ON outbox_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_follow_event()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse_follow_event BEFORE INSERT ON outbox_events "
        "WHEN NEW.event_type = 'follows.created' BEGIN "
        "SELECT RAISE(ABORT, 'injected failure'); END"
    ],
}
"""A trigger that makes the database refuse every ``follows.created`` outbox row."""


def fresh_orcid() -> str:
    """An ORCID iD no record has yet."""
    return orcid_from_digits(f"{uuid.uuid4().int % 10**15:015d}")


class TestOrcidClaimBoundToItsBrowser:
    """Mallory asks to claim the record of someone whose ORCID iD it carries and gets the
    owner to open the authorize URL (a link in a mail, say). The owner signs in at ORCID in
    their own browser: that must not complete Mallory's claim."""

    def _claim_state(self, site: Site, record: str) -> list[tuple[str, int]]:
        """(status, claims.verified events) of each claim of ``record``."""
        _, number = from_global_id(record, "Researcher")
        payloads = site.sql(
            "SELECT payload FROM outbox_events WHERE event_type = 'claims.verified'"
        )
        events = [p if isinstance(p, dict) else json.loads(p) for (p,) in payloads]
        verified = sum(1 for e in events if e["researcher_id"] == number)
        statuses = site.sql(f"SELECT status FROM claims WHERE researcher_id = {number}")
        return [(status, verified) for (status,) in statuses]

    def test_the_owner_signing_in_from_the_attackers_url_completes_nothing(
        self, site: Site
    ) -> None:
        orcid_id = fresh_orcid()
        mallory = site.account(email())
        record = new_record(site, "Owen Owner", orcid=orcid_id)
        with http_client() as mallorys, http_client() as owners:
            url = request_orcid_claim(site, mallorys, mallory, record)
            page = orcid_round_trip(site, owners, url, orcid_id)
        assert page.status_code == 403 and "another account" in page.text
        assert self._claim_state(site, record) == [("PENDING", 0)]

    def test_nor_when_the_owner_is_signed_in_as_themselves(self, site: Site) -> None:
        orcid_id = fresh_orcid()
        mallory = site.account(email())
        owner_address = email()
        site.account(owner_address)
        record = new_record(site, "Olive Owner", orcid=orcid_id)
        with http_client() as mallorys, http_client() as owners:
            signed_in = owners.post(  # a cookie session, as the web front has
                site.server.base_url + "/graphql",
                json={
                    "query": "mutation($e: String!, $p: String!) { signIn(input: "
                    "{email: $e, password: $p}) { token } }",
                    "variables": {"e": owner_address, "p": "correct horse battery"},
                },
            )
            assert "bzpeer_session" in signed_in.cookies
            url = request_orcid_claim(site, mallorys, mallory, record)
            page = orcid_round_trip(site, owners, url, orcid_id)
        assert page.status_code == 403
        assert self._claim_state(site, record) == [("PENDING", 0)]

    def test_the_claimants_own_session_completes_it_in_another_browser(self, site: Site) -> None:
        orcid_id = fresh_orcid()
        address = email()
        claimant = site.account(address)
        record = new_record(site, "Pia Phone", orcid=orcid_id)
        with http_client() as laptop, http_client() as phone:
            url = request_orcid_claim(site, laptop, claimant, record)
            phone.post(
                site.server.base_url + "/graphql",
                json={
                    "query": "mutation($e: String!, $p: String!) { signIn(input: "
                    "{email: $e, password: $p}) { token } }",
                    "variables": {"e": address, "p": "correct horse battery"},
                },
            )
            page = orcid_round_trip(site, phone, url, orcid_id)
        returned_to_profile(page, record, "verified")
        assert self._claim_state(site, record) == [("VERIFIED", 1)]

    def test_the_state_lives_minutes(self, site: Site) -> None:
        orcid_id = fresh_orcid()
        claimant = site.account(email())
        record = new_record(site, "Quinn Quick", orcid=orcid_id)
        with http_client() as browser:
            url = request_orcid_claim(site, browser, claimant, record)
            cookie = next(c for c in browser.cookies.jar if c.name == "bzpeer_orcid_state")
            assert cookie.path == "/auth/orcid/callback"
            assert cookie.has_nonstandard_attr("HttpOnly")
            (claim,) = site.sql(
                "SELECT created_at, expires_at FROM one_time_tokens "
                "WHERE purpose = 'ORCID_STATE' ORDER BY id DESC LIMIT 1"
            )
            created, expires = (dt.datetime.fromisoformat(str(t)) for t in claim)
            assert expires - created == dt.timedelta(minutes=10)
            site.sql(  # later than that
                "UPDATE one_time_tokens SET expires_at = created_at WHERE purpose = 'ORCID_STATE'"
            )
            page = orcid_round_trip(site, browser, url, orcid_id)
        assert page.status_code == 400 and "expired" in page.text
        assert self._claim_state(site, record) == [("PENDING", 0)]


def institute(site: Site, name: str, *domains: str) -> None:
    """An institution listing these web domains."""
    site.sql(
        f"INSERT INTO institutions (display_name, search_name) VALUES ('{name}', '{name.lower()}')"
    )
    for domain in domains:
        site.sql(
            "INSERT INTO institution_domains (institution_id, domain) "
            f"SELECT id, '{domain}' FROM institutions WHERE display_name = '{name}'"
        )


def authored(site: Site, record: str, year: int, institution: str) -> None:
    """A work of ``year`` on which ``record`` gives ``institution``."""
    _, researcher = from_global_id(record, "Researcher")
    title = f"work-{uuid.uuid4().hex[:8]}"
    site.sql(
        "INSERT INTO works (title, type, publication_year, cited_by_count) "
        f"VALUES ('{title}', 'ARTICLE', {year}, 0)"
    )
    site.sql(
        "INSERT INTO authorships (work_id, researcher_id, position) "
        f"SELECT id, {researcher}, 1 FROM works WHERE title = '{title}'"
    )
    site.sql(
        "INSERT INTO authorship_institutions (authorship_id, institution_id) "
        "SELECT a.id, i.id FROM authorships a JOIN works w ON w.id = a.work_id, institutions i "
        f"WHERE w.title = '{title}' AND i.display_name = '{institution}'"
    )


class TestOneMailboxOneRecord:
    """Two accounts, one institutional address, two records: it may verify only one. And only
    an address the record's own, current institutions list counts."""

    def _claims_of(self, site: Site, record: str) -> list[Any]:
        _, number = from_global_id(record, "Researcher")
        return site.sql(f"SELECT status FROM claims WHERE researcher_id = {number} ORDER BY id")

    def test_an_address_that_verified_a_record_cannot_claim_another(self, site: Site) -> None:
        address = f"shared-{uuid.uuid4().hex[:6]}@demo.bzpeer.test"
        first, second = site.account(email()), site.account(email())
        mine, other = new_record(site, "Mona Mailbox"), new_record(site, "Nils Neighbour")
        claim_by_email(site, first, mine, address)
        body = site.op("RequestEmailClaim", second, id=other, email=address.upper())
        assert errors_of(body) == ["CONFLICT"]
        assert self._claims_of(site, other) == []

    def test_of_two_pending_claims_with_one_address_one_verifies(self, site: Site) -> None:
        address = f"twice-{uuid.uuid4().hex[:6]}@demo.bzpeer.test"
        first, second = site.account(email()), site.account(email())
        one, two = new_record(site, "Otto One"), new_record(site, "Tess Two")
        codes = []
        for token, record, name in ((first, one, "Otto One"), (second, two, "Tess Two")):
            body = site.op("RequestEmailClaim", token, id=record, email=address)
            claim = body["data"]["requestClaim"]["claim"]
            codes.append((token, claim["id"], code_in(site.mail.wait_for(address, name))))
        (token, claim_id, code), (late_token, late_id, late_code) = codes
        assert "errors" not in site.op("VerifyClaim", token, claimId=claim_id, token=code)
        late = site.op("VerifyClaim", late_token, claimId=late_id, token=late_code)
        assert errors_of(late) == ["CONFLICT"]
        assert self._claims_of(site, two) == [("PENDING",)]
        assert self._claims_of(site, one) == [("VERIFIED",)]

    def test_the_address_is_kept_only_as_a_digest(self, site: Site) -> None:
        address = f"kept-{uuid.uuid4().hex[:6]}@demo.bzpeer.test"
        token = site.account(email())
        record = new_record(site, "Dora Digest")
        site.op("RequestEmailClaim", token, id=record, email=address)
        _, number = from_global_id(record, "Researcher")
        ((evidence, digest),) = site.sql(
            f"SELECT evidence, evidence_hash FROM claims WHERE researcher_id = {number}"
        )
        assert evidence is None
        assert digest == hashlib.sha256(f"bzpeer-claim-address:{address}".encode()).hexdigest()

    def test_subdomains_count_only_where_the_institution_lists_them(self, site: Site) -> None:
        institute(site, "Listing Institute", "listing.example", "lab.listing.example")
        token = site.account(email())
        record = new_record(site, "Sub Domain", affiliation="Listing Institute")
        for host in ("cs.listing.example", "x.lab.listing.example", "notlisting.example"):
            body = site.op("RequestEmailClaim", token, id=record, email=f"sub@{host}")
            assert errors_of(body) == ["BAD_USER_INPUT"], host
        assert self._claims_of(site, record) == []
        for host in ("lab.listing.example", "listing.example"):
            body = site.op("RequestEmailClaim", token, id=record, email=f"sub@{host}")
            assert "errors" not in body, host

    def test_only_the_affiliation_and_recent_works_give_domains(self, site: Site) -> None:
        institute(site, "Former Employer", "former.example")
        institute(site, "Current Lab", "current.example")
        token = site.account(email())
        record = new_record(site, "Wanda Wanderer", affiliation=None)
        this_year = dt.datetime.now(dt.UTC).year
        authored(site, record, this_year - 6, "Former Employer")  # before the five years
        authored(site, record, this_year - 5, "Current Lab")
        body = site.op("RequestEmailClaim", token, id=record, email="w@former.example")
        assert errors_of(body) == ["BAD_USER_INPUT"]
        assert "since" in body["errors"][0]["message"]
        body = site.op("RequestEmailClaim", token, id=record, email="w@current.example")
        assert "errors" not in body
        assert self._claims_of(site, record) == [("PENDING",)]


TRUST = (
    "query($id: ID!) { researcher(id: $id) { trust { score verificationLevel claimed "
    "factors { key points } } } }"
)


class TestPendingClaimsExpire:
    """Mallory asks to claim a record with an address she never confirms (or asks for a
    stranger's): the claim buys no trust, and it ends with its code."""

    def _trust(self, site: Site, record: str) -> dict[str, Any]:
        trust = site.server.graphql(TRUST, {"id": record})["data"]["researcher"]["trust"]
        assert trust is not None
        return dict(trust)

    def test_an_unverified_claim_buys_nothing_and_ends_with_its_code(self, site: Site) -> None:
        mallory = site.account(email())
        record = new_record(site, "Vera Victim")
        authored(site, record, dt.datetime.now(dt.UTC).year, "BZPEER Demo University")
        _, number = from_global_id(record, "Researcher")
        site.sql(  # a DOI: the record is a public one (L1) before anyone claims it
            "UPDATE works SET doi = '10.1234/vera' WHERE id IN "
            f"(SELECT work_id FROM authorships WHERE researcher_id = {number})"
        )
        address = f"vera-{uuid.uuid4().hex[:6]}@demo.bzpeer.test"
        body = site.op("RequestEmailClaim", mallory, id=record, email=address)
        claim = body["data"]["requestClaim"]["claim"]
        code = code_in(site.mail.wait_for(address, "Vera Victim"))

        def pending() -> dict[str, Any]:
            trust = self._trust(site, record)
            assert (trust["verificationLevel"], trust["claimed"]) == ("L2", True)
            return trust

        while_pending = eventually(pending)
        other = new_record(site, "Walt Waiting")
        body = site.op("RequestEmailClaim", mallory, id=other, email=f"m-{address}")
        assert errors_of(body) == ["CONFLICT"]  # one pending claim at a time

        # Its code runs out: the sweep ends the claim, and the record falls back to L1.
        ((claim_row,),) = site.sql(f"SELECT id FROM claims WHERE researcher_id = {number}")
        site.sql(f"UPDATE one_time_tokens SET expires_at = created_at WHERE claim_id = {claim_row}")
        site.sql(f"UPDATE claims SET expires_at = created_at WHERE id = {claim_row}")

        def fell_back() -> dict[str, Any]:
            trust = self._trust(site, record)
            assert (trust["verificationLevel"], trust["claimed"]) == ("L1", False)
            return trust

        after = eventually(fell_back, timeout=20)
        assert while_pending["score"] == after["score"]  # the claim had bought nothing
        assert site.sql(f"SELECT status FROM claims WHERE id = {claim_row}") == [("EXPIRED",)]
        late = site.op("VerifyClaim", mallory, claimId=claim["id"], token=code)
        assert errors_of(late) == ["CONFLICT"]
        body = site.op("RequestEmailClaim", mallory, id=other, email=f"m-{address}")
        assert "errors" not in body, body  # the next claim may start now


def confirmation_codes(site: Site, address: str, count: int) -> list[str]:
    """The codes of the first ``count`` confirmation mails to ``address``, in order."""

    def arrived() -> list[str]:
        codes = [
            code_in(m)
            for m in site.mail.to(address)
            if "Confirm your BZPEER account" in str(m["Subject"])
        ]
        assert len(codes) >= count
        return codes[:count]

    return eventually(arrived, timeout=10)


def sign_in(site: Site, address: str, password: str) -> dict[str, Any]:
    return site.op("SignIn", email=address, password=password)


class TestNoAccountSquatting:
    """Mallory signs up with Vic's address and her own password before Vic does."""

    def test_the_squatter_holds_nothing_and_the_owner_confirms_their_own(self, site: Site) -> None:
        vic = email()
        squat = site.op("SignUp", email=vic, password="mallory's password", displayName="Vic")
        assert squat["data"]["signUp"] == {"email": vic, "account": None}
        assert errors_of(sign_in(site, vic, "mallory's password")) == ["FORBIDDEN"]

        own = site.op("SignUp", email=vic, password="vic's own password", displayName="Vic V")
        assert own["data"]["signUp"] == squat["data"]["signUp"]  # the same answer
        mallorys_code, vics_code = confirmation_codes(site, vic, 2)
        confirmed = site.op("ConfirmEmail", token=vics_code)
        assert confirmed["data"]["confirmEmail"]["account"]["emailConfirmed"] is True

        assert errors_of(sign_in(site, vic, "mallory's password")) == ["UNAUTHENTICATED"]
        assert "errors" not in sign_in(site, vic, "vic's own password")
        late = site.op("ConfirmEmail", token=mallorys_code)  # her mail, opened afterwards
        assert errors_of(late) == ["BAD_USER_INPUT"]
        assert errors_of(sign_in(site, vic, "mallory's password")) == ["UNAUTHENTICATED"]
        ((name,),) = site.sql(f"SELECT display_name FROM accounts WHERE email = '{vic}'")
        assert name == "Vic V"

    def test_confirming_ends_every_earlier_session(self, site: Site) -> None:
        address = email()
        site.op("SignUp", email=address, password="correct horse battery", displayName="S")
        (code,) = confirmation_codes(site, address, 1)
        # A session from before confirmation (as accounts had before sign-in required one).
        early = "early-session-token-" + uuid.uuid4().hex
        site.sql(
            "INSERT INTO account_sessions (account_id, token_hash, created_at, expires_at) "
            f"SELECT id, '{hashlib.sha256(early.encode()).hexdigest()}', CURRENT_TIMESTAMP, "
            f"'2999-01-01 00:00:00' FROM accounts WHERE email = '{address}'"
        )
        assert site.server.graphql(VIEWER, token=early)["data"]["viewer"] is not None
        assert "errors" not in site.op("ConfirmEmail", token=code)
        assert site.server.graphql(VIEWER, token=early)["data"]["viewer"] is None


class TestPasswordReset:
    def test_a_mailed_code_sets_a_new_password_once_and_ends_every_session(
        self, site: Site
    ) -> None:
        address = email()
        token = site.account(address, password="the old password")
        asked = site.op("RequestPasswordReset", email=address)
        assert asked["data"]["requestPasswordReset"] == {"ok": True}
        code = code_in(site.mail.wait_for(address, "Reset your BZPEER password"))

        short = site.op("ResetPassword", token=code, password="short")
        assert errors_of(short) == ["BAD_USER_INPUT"]  # and the code is still good:
        done = site.op("ResetPassword", token=code, password="the new password")
        assert done["data"]["resetPassword"] == {"ok": True}
        assert site.server.graphql(VIEWER, token=token)["data"]["viewer"] is None
        assert errors_of(sign_in(site, address, "the old password")) == ["UNAUTHENTICATED"]
        assert "errors" not in sign_in(site, address, "the new password")
        again = site.op("ResetPassword", token=code, password="a third password")
        assert errors_of(again) == ["BAD_USER_INPUT"]
        assert "errors" not in sign_in(site, address, "the new password")

    def test_the_answer_does_not_say_whether_the_address_has_an_account(self, site: Site) -> None:
        known, unknown = email(), email()
        site.account(known)
        answers = [site.op("RequestPasswordReset", email=a) for a in (known, unknown)]
        assert answers[0] == answers[1] == {"data": {"requestPasswordReset": {"ok": True}}}
        site.mail.wait_for(known, "Reset your BZPEER password")
        assert site.mail.to(unknown) == []

    def test_it_rescues_an_address_somebody_squatted(self, site: Site) -> None:
        vic = email()
        site.op("SignUp", email=vic, password="mallory's password", displayName="Vic")
        site.op("RequestPasswordReset", email=vic)
        code = code_in(site.mail.wait_for(vic, "Reset your BZPEER password"))
        assert "errors" not in site.op("ResetPassword", token=code, password="vic's password!")
        assert "errors" not in sign_in(site, vic, "vic's password!")  # confirmed by the mail
        assert errors_of(sign_in(site, vic, "mallory's password")) == ["UNAUTHENTICATED"]


class TestFollowerCursors:
    def test_name_no_account(self, site: Site) -> None:
        owner = site.account(email())
        record = new_record(site, "Cora Cursor")
        claim_by_email(site, owner, record, f"cora-{uuid.uuid4().hex[:6]}@demo.bzpeer.test")
        fans = [site.account(email()) for _ in range(3)]
        for fan in fans:
            assert "errors" not in site.op("Follow", fan, id=record)
        _, number = from_global_id(record, "Researcher")
        account_ids = {
            a for (a,) in site.sql(f"SELECT account_id FROM follows WHERE researcher_id = {number}")
        }
        query = (
            "query($id: ID!, $after: String) { researcher(id: $id) { followers(first: 2, "
            "after: $after) { totalCount edges { cursor node { displayName } } "
            "pageInfo { hasNextPage endCursor } } } }"
        )
        seen, cursors, after = [], [], None
        while True:
            page = site.server.graphql(query, {"id": record, "after": after}, token=owner)
            followers = page["data"]["researcher"]["followers"]
            seen += [e["node"]["displayName"] for e in followers["edges"]]
            cursors += [e["cursor"] for e in followers["edges"]]
            if not followers["pageInfo"]["hasNextPage"]:
                break
            after = followers["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == followers["totalCount"] == 3
        for cursor in cursors:
            values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            assert not set(values[1:]) & account_ids, values


UNSHOWABLE = {
    "NUL": "Eve\x00",
    "right-to-left override": "Eve \u202egnp.exe",
    "escape sequence": "Eve \x1b[31mred",
    "2,000 zero-width spaces": "Eve" + "\u200b" * 2_000,
    "a zero-width space": "E\u200bve",
    "line break": "Eve\r\nBcc: everyone@example.org",
    "zero-width joiners in a row": "Eve\u200d\u200d\u200d",
}


def refused(body: dict[str, Any], argument: str) -> bool:
    return errors_of(body) == ["BAD_USER_INPUT"] and (
        body["errors"][0]["extensions"].get("argument") == argument
    )


class TestTextSafeToShowAndMail:
    def test_names_descriptions_and_messages_refuse_what_cannot_be_shown(self, site: Site) -> None:
        ((accounts_before,),) = site.sql("SELECT count(*) FROM accounts")
        for what, name in UNSHOWABLE.items():
            body = site.op(
                "SignUp", email=email(), password="correct horse battery", displayName=name
            )
            assert refused(body, "displayName"), what
        assert site.sql("SELECT count(*) FROM accounts") == [(accounts_before,)]

        owner = site.account(email())
        record = new_record(site, "Tina Text")
        claim_by_email(site, owner, record, f"tina-{uuid.uuid4().hex[:6]}@demo.bzpeer.test")
        for what, text in UNSHOWABLE.items():
            if what == "line break":  # a description may have paragraphs
                continue
            body = site.op("UpdateProfile", owner, description=text, openToCollaborate=True)
            assert refused(body, "description"), what
        _, number = from_global_id(record, "Researcher")
        assert site.sql(f"SELECT description FROM researchers WHERE id = {number}") == [(None,)]
        body = site.op(
            "UpdateProfile", owner, description="Two\nparagraphs", openToCollaborate=True
        )
        assert "errors" not in body, body
        body = site.op("UpdateProfile", owner, description="x" * 5_001, openToCollaborate=True)
        assert refused(body, "description")

    def test_text_is_stored_in_one_spelling(self, site: Site) -> None:
        address = email()
        decomposed = "Jose\u0301 Pe\u0301rez"  # NFD
        site.op("SignUp", email=address, password="correct horse battery", displayName=decomposed)
        (code,) = confirmation_codes(site, address, 1)
        site.op("ConfirmEmail", token=code)
        ((name,),) = site.sql(f"SELECT display_name FROM accounts WHERE email = '{address}'")
        assert name == "Jos\u00e9 P\u00e9rez"  # NFC

    @pytest.mark.parametrize(
        "address",
        [
            "a,b@example.org",
            "x<victim@example.org",
            "victim@example.org>",
            '"quoted"@example.org',
            "jos\u00e9@example.org",
            "jose\u0301@example.org",
            "a..b@example.org",
            "a@localhost",
            "a@example.123",
            "a@-example.org",
            "a@example.org\r\nBcc: x@example.org",
        ],
    )
    def test_addresses_follow_one_rule(self, site: Site, address: str) -> None:
        body = site.op("SignUp", email=address, password="correct horse battery", displayName="A")
        assert refused(body, "email"), address

    def test_the_invitation_mail_names_the_senders_verified_record(self, site: Site) -> None:
        sender_address, invitee_address = email(), email()
        sender = site.account(sender_address)
        site.sql(
            "UPDATE accounts SET display_name = 'Your Bank\nSubject: urgent' "
            f"WHERE email = '{sender_address}'"  # a name from before the rule
        )
        invitee = site.account(invitee_address)
        mine, theirs = new_record(site, "Sam Sender"), new_record(site, "Ivy Invitee")
        claim_by_email(site, sender, mine, f"sam-{uuid.uuid4().hex[:6]}@demo.bzpeer.test")
        claim_by_email(site, invitee, theirs, f"ivy-{uuid.uuid4().hex[:6]}@demo.bzpeer.test")
        body = site.op("InviteToCollaborate", sender, id=theirs, message="Hello,\nshall we?")
        assert "errors" not in body, body
        mail = site.mail.wait_for(invitee_address, "invites you to collaborate")
        assert mail["Subject"] == "Sam Sender invites you to collaborate"
        assert "Your Bank" not in mail.as_string()


def global_id(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


class TestNeverAnInternalError:
    """Each input that once answered INTERNAL_SERVER_ERROR or HTTP 500."""

    NODE = "query($id: ID!) { node(id: $id) { id } }"

    @pytest.mark.parametrize(
        "raw",
        [
            "Researcher:99999999999999999999999",  # past a 64-bit key
            "Researcher:9223372036854775808",
            "Researcher:+3",
            "Researcher: 3",
            "Researcher:0_3",
            "Researcher:03",
            "Researcher:\u0663",  # ARABIC-INDIC DIGIT THREE
            "Researcher:",
        ],
    )
    def test_malformed_ids_are_bad_input(self, site: Site, raw: str) -> None:
        body = site.server.graphql(self.NODE, {"id": global_id(raw)})
        assert refused(body, "id"), raw

    def test_a_well_formed_id_still_resolves(self, site: Site) -> None:
        record = site.researcher_id("Kaiyue Lu")
        assert site.server.graphql(self.NODE, {"id": record})["data"]["node"] == {"id": record}

    def test_deeply_nested_json_is_a_400(self, site: Site) -> None:
        body = (
            '{"query": "query($s: String) { researchers(search: $s) { totalCount } }", '
            '"variables": {"s": ' + "[" * 5_000 + "]" * 5_000 + "}}"
        )
        response = http_post(
            site.server.base_url + "/graphql",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

    def test_a_cursor_past_a_64_bit_key_is_bad_input(self, site: Site) -> None:
        cursor = base64.urlsafe_b64encode(json.dumps(["name", "x", 2**64 - 1]).encode())
        body = site.server.graphql(
            "query($c: String) { researchers(first: 2, after: $c) { totalCount } }",
            {"c": cursor.decode().rstrip("=")},
        )
        assert errors_of(body) == ["BAD_USER_INPUT"]

    def test_an_error_that_nulls_the_answer_beside_running_resolvers(self, site: Site) -> None:
        """Found by fuzzing: the nodes error nulls ``data`` while the viewer's resolvers still
        run statements on the request's session, which used to close under them."""
        token = site.account(email())
        query = '{ viewer { id claimedResearcher { openToCollaborate } } nodes(ids: ["x"]) { id } }'
        for _ in range(20):
            response = http_post(
                site.server.base_url + "/graphql",
                json={"query": query},
                headers={"authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["data"] is None and errors_of(body) == ["BAD_USER_INPUT"]


class TestAtomicEvents:
    @pytest.fixture
    def faulty(self, backend: str, tmp_path: Path) -> Iterator[Site]:
        """A site whose database refuses the `follows.created` event: the follow row is written
        first, then the event insert fails inside the same transaction. The demo data and the
        trigger go in before the server (and its in-process workers) starts: written later, they
        raced the workers for the database (SQLite: "database is locked")."""
        from tests.peers import OrcidServer, smtp_server

        url = create_database(backend, tmp_path)
        try:
            load_demo_into(url)
            for statement in REFUSE_FOLLOW_EVENT[backend]:
                run_sql(url, statement)
            with smtp_server() as (mail, smtp):
                orcid = OrcidServer()
                settings = site_settings(url, "http://127.0.0.1", smtp, orcid, tmp_path)
                with serve(create_app(settings)) as server:
                    yield Site(server=server, mail=mail, smtp=smtp, orcid=orcid, url=url)
        finally:
            drop_database(url)

    def test_a_failed_mutation_leaves_neither_change_nor_event(self, faulty: Site) -> None:
        token = faulty.account(email())
        seed = faulty.researcher_id("Kaiyue Lu")
        body = faulty.op("Follow", token, id=seed)
        assert errors_of(body) == ["INTERNAL_SERVER_ERROR"]
        assert body["data"] is None
        assert faulty.sql("SELECT count(*) FROM follows")[0][0] == 0
        assert (
            faulty.sql("SELECT count(*) FROM outbox_events WHERE event_type LIKE 'follows.%'")[0][0]
            == 0
        )
        counts = faulty.server.graphql(
            "query($id: ID!) { researcher(id: $id) { counts { followers } } }", {"id": seed}
        )
        assert counts["data"]["researcher"]["counts"]["followers"] == 0
        # The account's own sign-up, which succeeded, kept its change and its event.
        assert (
            faulty.sql("SELECT count(*) FROM outbox_events WHERE event_type = 'accounts.created'")[
                0
            ][0]
            == 1
        )


def follows_of(site: Site, account_id: int) -> int:
    ((count,),) = site.sql(f"SELECT count(*) FROM follows WHERE account_id = {account_id}")
    return int(count)


def follow_events_of(site: Site, account_id: int) -> list[str]:
    """The ``follows.*`` outbox events about this account, oldest first."""
    rows = site.sql(
        "SELECT event_type, payload FROM outbox_events WHERE event_type LIKE 'follows.%' "
        "ORDER BY id"
    )
    events = []
    for event_type, payload in rows:
        if isinstance(payload, str):  # SQLite's JSON comes back as text
            payload = json.loads(payload)
        if payload["account_id"] == account_id:
            events.append(str(event_type))
    return events


class TestRateLimits:
    def _site(self, site: Site, data: Path, **limits: str) -> AbstractContextManager[LiveServer]:
        """Another app on the site's database and mail server, with these limits."""
        settings = site_settings(
            site.url, "http://127.0.0.1", site.smtp, site.orcid, data, **limits
        )
        return serve(create_app(settings))

    def test_sign_in_per_email_counts_every_alias(self, site: Site, tmp_path: Path) -> None:
        address = email()
        site.account(address)
        aliases = (
            "mutation { "
            + " ".join(
                f'a{i}: signIn(input: {{email: "{address}", password: "correct horse battery"}}) '
                "{ token }"
                for i in range(3)
            )
            + " }"
        )
        with self._site(site, tmp_path, rate_limit_sign_in_per_email="2/minute") as server:
            body = server.graphql(aliases)
        # Two aliases pass the limit, the third does not, and the operation writes nothing.
        assert errors_of(body) == ["RATE_LIMITED"]
        assert body["errors"][0]["path"] == ["a2"]
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["retryAfter"] >= 1

    def test_sign_in_per_email_across_requests(self, site: Site, tmp_path: Path) -> None:
        address = email()
        site.account(address)
        query = (
            "mutation($e: String!) { signIn(input: {email: $e, password: "
            '"wrong password!"}) { token } }'
        )
        with self._site(site, tmp_path, rate_limit_sign_in_per_email="2/minute") as server:
            results = [server.graphql(query, {"e": address}) for _ in range(3)]
        assert [errors_of(r) for r in results] == [
            ["UNAUTHENTICATED"],
            ["UNAUTHENTICATED"],
            ["RATE_LIMITED"],
        ]

    def test_failures_from_elsewhere_do_not_lock_the_owner_out(
        self, site: Site, tmp_path: Path
    ) -> None:
        address = email()
        site.account(address)
        query = (
            "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) "
            "{ token } }"
        )

        def attempt(server: LiveServer, client_address: str, password: str) -> list[str]:
            transport = httpx.HTTPTransport(local_address=client_address)
            with http_client(transport=transport) as client:
                body = client.post(
                    server.base_url + "/graphql",
                    json={"query": query, "variables": {"e": address, "p": password}},
                ).json()
            return errors_of(body) if "errors" in body else []

        with self._site(site, tmp_path) as server:
            guesses = [attempt(server, "127.0.0.2", "a wrong guess") for _ in range(7)]
            assert guesses == [["UNAUTHENTICATED"]] * 5 + [["RATE_LIMITED"]] * 2
            assert attempt(server, "127.0.0.1", "correct horse battery") == []  # the owner
        # The ceiling for the address still holds across client addresses.
        with self._site(
            site,
            tmp_path / "ceiling",
            rate_limit_sign_in_per_email="4/minute",
            rate_limit_sign_in_per_email_and_address="3/minute",
        ) as server:
            spread = [attempt(server, f"127.0.0.{n}", "a wrong guess") for n in (3, 3, 3, 4, 4)]
        assert spread == [["UNAUTHENTICATED"]] * 4 + [["RATE_LIMITED"]]

    def test_aliases_of_follow_each_count(self, site: Site, tmp_path: Path) -> None:
        address = email()
        token = site.account(address)
        ((account_id,),) = site.sql(f"SELECT id FROM accounts WHERE email = '{address}'")
        seed = site.researcher_id("Kaiyue Lu")
        assert (follows_of(site, account_id), follow_events_of(site, account_id)) == (0, [])
        with self._site(site, tmp_path, rate_limit_follows_per_account="2/minute") as server:
            query = (
                "mutation($id: ID!) { "
                + " ".join(
                    f"f{i}: follow(input: {{researcherId: $id}}) {{ researcher {{ id }} }}"
                    for i in range(3)
                )
                + " }"
            )
            body = server.graphql(query, {"id": seed}, token=token)
        # Two aliases pass the limit (the first follows, the second is a no-op), the third does
        # not, and the whole mutation rolls back: no follow and no event for this account.
        assert errors_of(body) == ["RATE_LIMITED"]
        assert body["errors"][0]["path"] == ["f2"]
        assert body["data"] is None
        assert follows_of(site, account_id) == 0
        assert follow_events_of(site, account_id) == []

    def test_limits_are_shared_through_redis(self, site: Site, tmp_path: Path) -> None:
        address = email()
        site.account(address)
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        try:
            settings = site_settings(
                site.url,
                "http://127.0.0.1",
                site.smtp,
                site.orcid,
                tmp_path,
                rate_limit_sign_in_per_email="2/minute",
            )
            settings = settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"})
            query = (
                "mutation($e: String!) { signIn(input: {email: $e, password: "
                '"wrong password!"}) { token } }'
            )
            # Two API processes' worth of apps: the third attempt is refused by the second app.
            with serve(create_app(settings)) as first:
                first.graphql(query, {"e": address})
                first.graphql(query, {"e": address})
            with serve(create_app(settings)) as second:
                body = second.graphql(query, {"e": address})
            assert errors_of(body) == ["RATE_LIMITED"]
            assert any(address in key.decode() for key in client.scan_iter("bzpeer-rl*"))
        finally:
            for key in client.scan_iter(f"*{address}*"):
                client.delete(key)
            client.close()


class TestApiKeys:
    def test_a_key_authenticates_a_program_not_a_person(self, site: Site) -> None:
        env = {**os.environ, "DATABASE_URL": site.url}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "service.cli",
                "api-key",
                "create",
                "--name",
                "crossref-sync",
                "--scope",
                "import",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = done.stdout.strip()
        assert key.startswith("bzp_") and "shown only now" in done.stderr
        # Stored only as the SHA-256 hex digest of the printed key; the key itself (or its
        # random part) is in no column of the row.
        (row,) = site.sql("SELECT * FROM api_keys ORDER BY id DESC LIMIT 1")  # the newest
        stored = row._asdict()
        assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
        secret = key.removeprefix("bzp_")
        assert [column for column, value in stored.items() if secret in str(value)] == []
        assert (stored["name"], stored["scope"]) == ("crossref-sync", "import")
        viewer = site.server.graphql("{ viewer { id } }", token=key)
        assert viewer["data"]["viewer"] is None
        follow = site.op("Follow", key, id=site.researcher_id("Kaiyue Lu"))
        assert errors_of(follow) == ["UNAUTHENTICATED"]


class TestPasswords:
    async def test_hash_is_argon2id_and_rehashed_when_parameters_change(self) -> None:
        old = Passwords(settings_for("sqlite://", argon2_time_cost=2, argon2_memory_kib=19 * 1024))
        new = Passwords(settings_for("sqlite://", argon2_time_cost=3, argon2_memory_kib=19 * 1024))
        stored = await old.hash("correct horse battery")
        assert stored.startswith("$argon2id$v=19$m=19456,t=2")
        assert (await old.verify(stored, "correct horse battery")).new_hash is None
        check = await new.verify(stored, "correct horse battery")
        assert check.ok and check.new_hash is not None and ",t=3," in check.new_hash
        assert not (await new.verify(stored, "wrong")).ok
        assert not (await new.verify(None, "anything")).ok
