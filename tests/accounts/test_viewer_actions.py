"""What a signed-in person does, through the contract documents, against a real uvicorn with a
real SMTP server and an ORCID-like OAuth server on loopback, on each backend."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from service.graphql.relay import from_global_id, to_global_id
from tests.accounts.conftest import ARJUN_ORCID, Site
from tests.peers import code_in
from tests.support import errors_of, eventually, http_client

VIEWER = "query { viewer { id email emailConfirmed claimedResearcher { id displayName trust { verificationLevel claimed } } following(first: 20) { totalCount edges { node { id displayName } } } } }"  # noqa: E501
COUNTS = "query($id: ID!) { researcher(id: $id) { viewerFollows viewerCanClaim counts { followers } trust { verificationLevel claimed } followers { totalCount } } }"  # noqa: E501


def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.org"


def new_record(
    site: Site,
    name: str,
    orcid: str | None = None,
    affiliation: str | None = "BZPEER Demo University",
) -> str:
    """A researcher record, by default affiliated with the demo institution (domain
    demo.bzpeer.test)."""
    orcid_sql = f"'{orcid}'" if orcid else "NULL"
    site.sql(
        "INSERT INTO researchers (display_name, search_name, orcid, affiliation_id, "
        "open_to_collaborate, works_count, followers_count, topics_count, "
        "close_collaborators_count, created_at, updated_at) "
        f"SELECT '{name}', '{name.lower()}', {orcid_sql}, "
        f"(SELECT id FROM institutions WHERE display_name = '{affiliation}'), "
        "false, 0, 0, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
    )
    (row,) = site.sql(f"SELECT id FROM researchers WHERE display_name = '{name}'")
    return to_global_id("Researcher", row[0])


REQUEST_ORCID_CLAIM = (
    "mutation($id: ID!) { requestClaim(input: {researcherId: $id, method: ORCID}) "
    "{ claim { status authorizeUrl } } }"
)


def request_orcid_claim(site: Site, browser: httpx.Client, token: str, record: str) -> str:
    """``requestClaim(method: ORCID)`` from ``browser`` (which keeps what it is given to
    keep); the authorize URL."""
    response = browser.post(
        site.server.base_url + "/graphql",
        json={"query": REQUEST_ORCID_CLAIM, "variables": {"id": record}},
        headers={"Authorization": f"Bearer {token}"},
    )
    url: str = response.json()["data"]["requestClaim"]["claim"]["authorizeUrl"]
    assert url.startswith(site.orcid.base_url + "/oauth/authorize?")
    return url


def orcid_round_trip(site: Site, browser: httpx.Client, url: str, signed_in: str) -> httpx.Response:
    """``browser`` opens the authorize URL, signs in at ORCID as ``signed_in`` and follows the
    redirect back to our callback: its page."""
    site.orcid.signed_in = signed_in
    redirect = browser.get(url, follow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert urlsplit(location).path == "/auth/orcid/callback"
    return browser.get(location)


def returned_to_profile(page: httpx.Response, record: str, outcome: str) -> None:
    """The callback sent the browser back to the record's profile, saying how the claim went."""
    assert page.status_code == 303, page.text
    assert page.headers["location"] == f"/researchers/{quote(record, safe='')}?claim={outcome}"


def claim_by_email(site: Site, token: str, researcher_id: str, address: str) -> dict:  # type: ignore[type-arg]
    body = site.op("RequestEmailClaim", token, id=researcher_id, email=address)
    assert "errors" not in body, body
    claim = body["data"]["requestClaim"]["claim"]
    code = code_in(site.mail.wait_for(address, "Confirm that you are"))
    verified = site.op("VerifyClaim", token, claimId=claim["id"], token=code)
    assert "errors" not in verified, verified
    # The workers raise the record to L3 after the claim commits; vouching needs L3.
    eventually(lambda: _assert_level(site, researcher_id, "L3"))
    return verified["data"]["verifyClaim"]["claim"]  # type: ignore[no-any-return]


def _assert_level(site: Site, researcher_id: str, level: str) -> None:
    body = site.server.graphql(
        "query($id: ID!) { researcher(id: $id) { trust { verificationLevel } } }",
        {"id": researcher_id},
    )
    trust = body["data"]["researcher"]["trust"]
    assert trust is not None and trust["verificationLevel"] == level, trust


class TestAccounts:
    def test_sign_up_confirm_sign_in_sign_out(self, site: Site) -> None:
        address = email()
        body = site.op("SignUp", email=address, password="correct horse battery", displayName="Ada")
        assert body["data"]["signUp"] == {"email": address, "account": None}
        before = site.op("SignIn", email=address, password="correct horse battery")
        assert errors_of(before) == ["FORBIDDEN"]  # not before the address is confirmed

        mail = site.mail.wait_for(address, "Confirm your BZPEER account")
        confirmed = site.op("ConfirmEmail", token=code_in(mail))
        assert confirmed["data"]["confirmEmail"]["account"]["emailConfirmed"] is True
        assert errors_of(site.op("ConfirmEmail", token=code_in(mail))) == ["BAD_USER_INPUT"]

        signed_in = site.op("SignIn", email=address.upper(), password="correct horse battery")
        token = signed_in["data"]["signIn"]["token"]
        viewer = site.server.graphql(VIEWER, token=token)["data"]["viewer"]
        assert (viewer["email"], viewer["emailConfirmed"]) == (address, True)

        assert site.op("SignOut", token)["data"]["signOut"]["ok"] is True
        assert site.server.graphql(VIEWER, token=token)["data"]["viewer"] is None
        follow = site.op("Follow", token, id=site.researcher_id("Kaiyue Lu"))
        assert errors_of(follow) == ["UNAUTHENTICATED"]

    def test_secrets_are_stored_hashed(self, site: Site) -> None:
        address = email()
        token = site.account(address)
        (row,) = site.sql(f"SELECT password_hash, id FROM accounts WHERE email = '{address}'")
        assert row[0].startswith("$argon2id$")
        params = dict(p.split("=") for p in row[0].split("$")[3].split(","))
        assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2
        stored = [
            r[0]
            for r in site.sql(
                f"SELECT token_hash FROM account_sessions WHERE account_id = {row[1]}"
            )
        ]
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored

    def test_sign_up_does_not_reveal_registered_emails(self, site: Site) -> None:
        address = email()
        site.account(address)
        again = site.op(
            "SignUp", email=address, password="another password!", displayName="Mallory"
        )
        fresh = email()
        new = site.op("SignUp", email=fresh, password="another password!", displayName="Nu")
        assert again["data"]["signUp"] == {"email": address, "account": None}
        assert new["data"]["signUp"] == {"email": fresh, "account": None}
        site.mail.wait_for(address, "Someone tried to sign up")
        assert site.sql(f"SELECT count(*) FROM accounts WHERE email = '{address}'")[0][0] == 1

    def test_sign_in_failures_look_alike(self, site: Site) -> None:
        address = email()
        site.account(address)
        wrong = site.op("SignIn", email=address, password="not the password")
        unknown = site.op("SignIn", email=email(), password="not the password")
        assert errors_of(wrong) == errors_of(unknown) == ["UNAUTHENTICATED"]
        assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]

    def test_expired_confirmation_is_refused(self, site: Site) -> None:
        address = email()
        site.op("SignUp", email=address, password="correct horse battery", displayName="Old")
        code = code_in(site.mail.wait_for(address, "Confirm your BZPEER account"))
        site.sql(
            "UPDATE one_time_tokens SET expires_at = '2000-01-01 00:00:00+00:00' WHERE "
            f"account_id = (SELECT id FROM accounts WHERE email = '{address}')"
        )
        assert errors_of(site.op("ConfirmEmail", token=code)) == ["BAD_USER_INPUT"]

    def test_bad_input(self, site: Site) -> None:
        weak = site.op("SignUp", email=email(), password="short", displayName="A")
        assert errors_of(weak) == ["BAD_USER_INPUT"]
        malformed = site.op(
            "SignUp", email="not-an-email", password="long enough pw", displayName="A"
        )
        assert errors_of(malformed) == ["BAD_USER_INPUT"]
        assert errors_of(site.op("ConfirmEmail", token="nope")) == ["BAD_USER_INPUT"]

    def test_mutations_are_refused_over_get(self, site: Site) -> None:
        with site.server.client() as client:
            response = client.get("/graphql", params={"query": "mutation { signOut { ok } }"})
        assert response.status_code in (400, 405)
        assert response.json()["errors"][0]["extensions"]["code"] in (
            "BAD_REQUEST",
            "METHOD_NOT_ALLOWED",
        )


class TestFollow:
    def test_follow_is_idempotent_and_counted(self, site: Site) -> None:
        token = site.account(email())
        seed = site.researcher_id("Kaiyue Lu")
        before = site.server.graphql(COUNTS, {"id": seed})["data"]["researcher"]
        for _ in range(2):
            followed = site.op("Follow", token, id=seed)
            assert followed["data"]["follow"]["researcher"] == {"id": seed, "viewerFollows": True}

        def follow_counted() -> dict[str, Any]:
            after = site.server.graphql(COUNTS, {"id": seed}, token=token)["data"]["researcher"]
            assert after["counts"]["followers"] == before["counts"]["followers"] + 1
            return after  # type: ignore[no-any-return]

        after = eventually(follow_counted, timeout=1.0)  # the promise: within a second
        assert after["viewerFollows"] is True
        assert after["followers"]["totalCount"] == after["counts"]["followers"]
        following = site.server.graphql(VIEWER, token=token)["data"]["viewer"]["following"]
        assert [e["node"]["id"] for e in following["edges"]] == [seed]

        unfollowed = site.op("Unfollow", token, id=seed)
        assert unfollowed["data"]["unfollow"]["researcher"]["viewerFollows"] is False
        assert "errors" not in site.op("Unfollow", token, id=seed)

        def unfollowed_counted() -> None:
            final = site.server.graphql(COUNTS, {"id": seed})["data"]["researcher"]
            assert final["counts"]["followers"] == before["counts"]["followers"]

        eventually(unfollowed_counted, timeout=1.0)

    def test_each_change_has_one_event(self, site: Site) -> None:
        address = email()
        token = site.account(address)
        seed = site.researcher_id("Kaiyue Lu")
        site.op("Follow", token, id=seed)
        site.op("Follow", token, id=seed)
        site.op("Unfollow", token, id=seed)
        site.op("Unfollow", token, id=seed)
        (account_id,) = site.sql(f"SELECT id FROM accounts WHERE email = '{address}'")[0]
        events = (
            [
                r[0]
                for r in site.sql(
                    "SELECT event_type FROM outbox_events WHERE event_type LIKE 'follows.%' "
                    f"AND payload LIKE '%\"account_id\": {account_id},%' ORDER BY id"
                )
            ]
            if site.url.startswith("sqlite")
            else [
                r[0]
                for r in site.sql(
                    "SELECT event_type FROM outbox_events WHERE event_type LIKE 'follows.%' "
                    f"AND (payload->>'account_id')::int = {account_id} ORDER BY id"
                )
            ]
        )
        assert events == ["follows.created", "follows.deleted"]

    def test_unknown_and_malformed_researcher(self, site: Site) -> None:
        token = site.account(email())
        unknown = base64.b64encode(b"Researcher:987654").decode()
        assert errors_of(site.op("Follow", token, id=unknown)) == ["NOT_FOUND"]
        assert errors_of(site.op("Follow", token, id="xyz")) == ["BAD_USER_INPUT"]

    def test_who_follows_is_for_the_claimant_only(self, site: Site) -> None:
        token = site.account(email())
        body = site.server.graphql(
            "query($id: ID!) { researcher(id: $id) { followers { totalCount edges { node { "
            "displayName } } } } }",
            {"id": site.researcher_id("Kaiyue Lu")},
            token=token,
        )
        assert errors_of(body) == ["FORBIDDEN"]


class TestClaims:
    def test_institutional_email_claim_reaches_l2_then_l3(self, site: Site) -> None:
        token = site.account(email())
        record = new_record(site, "Grace Email")
        assert (
            site.server.graphql(COUNTS, {"id": record}, token=token)["data"]["researcher"][
                "viewerCanClaim"
            ]
            is True
        )
        address = f"grace-{uuid.uuid4().hex[:6]}@demo.bzpeer.test"
        body = site.op("RequestEmailClaim", token, id=record, email=address)
        claim = body["data"]["requestClaim"]["claim"]
        assert (claim["status"], claim["method"]) == ("PENDING", "INSTITUTIONAL_EMAIL")

        def pending_counts_as_l2() -> None:
            viewer = site.server.graphql(VIEWER, token=token)["data"]["viewer"]
            trust = viewer["claimedResearcher"]["trust"]
            assert trust == {"verificationLevel": "L2", "claimed": True}

        eventually(pending_counts_as_l2)
        code = code_in(site.mail.wait_for(address, "Confirm that you are Grace Email"))
        verified = site.op("VerifyClaim", token, claimId=claim["id"], token=code)
        result = verified["data"]["verifyClaim"]["claim"]
        assert result["status"] == "VERIFIED"
        eventually(lambda: _assert_level(site, record, "L3"))
        assert (
            site.server.graphql(COUNTS, {"id": record}, token=token)["data"]["researcher"][
                "viewerCanClaim"
            ]
            is False
        )

    def test_address_outside_the_institutions(self, site: Site) -> None:
        token = site.account(email())
        record = new_record(site, "Henry Domain")
        for address in ("henry@example.org", "henry@notdemo.bzpeer.test"):
            body = site.op("RequestEmailClaim", token, id=record, email=address)
            assert errors_of(body) == ["BAD_USER_INPUT"]
        _, number = from_global_id(record, "Researcher")
        assert site.sql(f"SELECT count(*) FROM claims WHERE researcher_id = {number}") == [(0,)]

    def test_unconfirmed_account_cannot_claim(self, site: Site) -> None:
        address = email()
        site.op("SignUp", email=address, password="correct horse battery", displayName="U")
        signed_in = site.op("SignIn", email=address, password="correct horse battery")
        assert errors_of(signed_in) == ["FORBIDDEN"]  # no session before confirmation
        # Nor with a session from before sign-in required a confirmed address.
        token = "old-session-" + uuid.uuid4().hex
        site.sql(
            "INSERT INTO account_sessions (account_id, token_hash, created_at, expires_at) "
            f"SELECT id, '{hashlib.sha256(token.encode()).hexdigest()}', CURRENT_TIMESTAMP, "
            f"'2999-01-01 00:00:00' FROM accounts WHERE email = '{address}'"
        )
        record = new_record(site, "Ivy Unconfirmed")
        body = site.op("RequestEmailClaim", token, id=record, email="ivy@demo.bzpeer.test")
        assert errors_of(body) == ["FORBIDDEN"]

    def test_orcid_sign_in_verifies_a_matching_record(self, site: Site) -> None:
        token = site.account(email())
        orcid_id = "0000-0001-5109-3700"
        record = new_record(site, "Jane Orcid", orcid=orcid_id)
        body = site.op("RequestClaim", token, id=record, method="ORCID")
        claim = body["data"]["requestClaim"]["claim"]
        assert claim["status"] == "PENDING"
        page = self._sign_in_with_orcid(site, orcid_id, token, record)
        returned_to_profile(page, record, "verified")
        viewer = site.server.graphql(VIEWER, token=token)["data"]["viewer"]
        assert viewer["claimedResearcher"]["id"] == record
        eventually(lambda: _assert_level(site, record, "L3"))

    def test_orcid_sign_in_as_someone_else_is_rejected(self, site: Site) -> None:
        token = site.account(email())
        record = new_record(site, "Kim Orcid", orcid="0000-0003-1415-9269")
        page = self._sign_in_with_orcid(site, "0000-0002-9079-593X", token, record)
        returned_to_profile(page, record, "rejected")
        viewer = site.server.graphql(VIEWER, token=token)["data"]["viewer"]
        assert viewer["claimedResearcher"] is None

    def _sign_in_with_orcid(
        self, site: Site, signed_in: str, token: str, record: str
    ) -> httpx.Response:
        """The whole round trip in one browser (a client keeping cookies)."""
        with http_client() as browser:
            url = request_orcid_claim(site, browser, token, record)
            return orcid_round_trip(site, browser, url, signed_in)

    def test_verified_records_and_second_claims_conflict(self, site: Site) -> None:
        first = site.account(email())
        record = new_record(site, "Leo Conflict")
        claim_by_email(site, first, record, f"leo-{uuid.uuid4().hex[:6]}@demo.bzpeer.test")
        second = site.account(email())
        body = site.op("RequestEmailClaim", second, id=record, email="x@demo.bzpeer.test")
        assert errors_of(body) == ["CONFLICT"]
        other = new_record(site, "Leo Other")
        body = site.op("RequestEmailClaim", first, id=other, email="leo2@demo.bzpeer.test")
        assert errors_of(body) == ["CONFLICT"]


class TestCollaboration:
    def test_claim_invite_respond_vouch(self, site: Site) -> None:
        """Mei (institutional email) and Arjun (ORCID) claim their co-authored records, Mei
        invites Arjun, Arjun accepts, Mei vouches for Arjun."""
        mei_token = site.account(email())
        mei = site.researcher_id("Mei Tanaka")
        claim_by_email(site, mei_token, mei, f"mei-{uuid.uuid4().hex[:6]}@demo.bzpeer.test")
        arjun_address = email()
        arjun_token = site.account(arjun_address)
        arjun = site.researcher_id("Arjun Raghavan")
        page = TestClaims()._sign_in_with_orcid(site, ARJUN_ORCID, arjun_token, arjun)
        returned_to_profile(page, arjun, "verified")

        invited = site.op("InviteToCollaborate", mei_token, id=arjun, message="Shall we?")
        invitation = invited["data"]["inviteToCollaborate"]["invitation"]
        assert invitation["status"] == "PENDING"
        site.mail.wait_for(arjun_address, "invites you to collaborate")
        inbox = site.server.graphql(
            "{ viewer { invitations { totalCount edges { node { id message sender { "
            "displayName } } } } } }",
            token=arjun_token,
        )["data"]["viewer"]["invitations"]
        assert inbox["totalCount"] == 1
        assert inbox["edges"][0]["node"]["sender"]["displayName"] == "Mei Tanaka"
        respond = (
            "mutation($id: ID!, $ok: Boolean!) { respondToInvitation(input: "
            "{invitationId: $id, accept: $ok}) { invitation { status } } }"
        )
        refused = site.server.graphql(
            respond, {"id": invitation["id"], "ok": True}, token=mei_token
        )
        assert errors_of(refused) == ["FORBIDDEN"]
        accepted = site.server.graphql(
            respond, {"id": invitation["id"], "ok": True}, token=arjun_token
        )
        assert accepted["data"]["respondToInvitation"]["invitation"]["status"] == "ACCEPTED"

        for _ in range(2):  # vouching twice is one vouch
            assert "errors" not in site.op("Vouch", mei_token, id=arjun)
        assert site.sql("SELECT count(*) FROM vouches")[0][0] == 1
        not_coauthor = site.op("Vouch", mei_token, id=site.researcher_id("Kaiyue Lu"))
        assert errors_of(not_coauthor) == ["FORBIDDEN"]
        eventually(lambda: _assert_level(site, arjun, "L3"))  # one vouch is not enough

        # A second identity-verified co-author (Yiran, affiliated here for the email claim).
        site.sql(
            "UPDATE researchers SET affiliation_id = (SELECT id FROM institutions WHERE "
            "display_name = 'BZPEER Demo University') WHERE display_name = 'Yiran Zhong'"
        )
        yiran_token = site.account(email())
        claim_by_email(
            site,
            yiran_token,
            site.researcher_id("Yiran Zhong"),
            f"yiran-{uuid.uuid4().hex[:6]}@demo.bzpeer.test",
        )
        assert "errors" not in site.op("Vouch", yiran_token, id=arjun)
        eventually(lambda: _assert_level(site, arjun, "L4"))

        profile = site.op(
            "UpdateProfile", arjun_token, description="Speech people.", openToCollaborate=True
        )
        assert profile["data"]["updateProfile"]["researcher"] == {
            "id": arjun,
            "description": "Speech people.",
            "openToCollaborate": True,
        }
        closed = site.server.graphql(
            "mutation { setOpenToCollaborate(input: {openToCollaborate: false}) "
            "{ researcher { id openToCollaborate } } }",
            token=arjun_token,
        )
        assert closed["data"]["setOpenToCollaborate"]["researcher"] == {
            "id": arjun,
            "openToCollaborate": False,
        }

    def test_invitations_need_claimed_records(self, site: Site) -> None:
        token = site.account(email())
        body = site.op(
            "InviteToCollaborate", token, id=site.researcher_id("Kaiyue Lu"), message="hello"
        )
        assert errors_of(body) == ["FORBIDDEN"]
