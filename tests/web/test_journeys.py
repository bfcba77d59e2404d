"""What people do on the pages, in a real browser against ``bzpeer serve``: sign up, confirm
through the mailed link, sign in, follow (another open browser sees the count change without a
reload), unfollow, sign out, reset a password; claim a record by institutional email and by
ORCID, and invite a claimed co-author, who accepts."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from playwright.sync_api import Browser, Page, WebSocket, expect

from service.graphql.relay import from_global_id
from tests.accounts.conftest import ARJUN_ORCID
from tests.web.conftest import Front, Tab, opened

PASSWORD = "correct horse battery"
LIVE_MS = 15_000


def address(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:8]}@example.org"


def profile_url(front: Front, name: str) -> str:
    return f"{front.base}/researchers/{quote(front.researcher_id(name), safe='')}"


def sign_up_and_confirm(page: Page, front: Front, email: str) -> None:
    page.goto(f"{front.base}/sign-up")
    page.get_by_label("Your name").fill(email.split("@")[0])
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status")).to_contain_text(f"we sent a confirmation link to {email}")
    page.goto(front.link_in(email, "Confirm your BZPEER account", "/confirm-email"))
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("status")).to_contain_text("Your address is confirmed.")


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """On the sign-in page: fill it in and wait until the header shows the account."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account")).to_contain_text(email)


def live_ready(tab: Tab) -> None:
    """Waits until the open profile's subscriptions are in place: the trust subscription's
    first message (the current snapshot) follows the follower subscription on one socket."""
    frames: list[str] = []

    def keep(payload: str | bytes) -> None:
        frames.append(payload if isinstance(payload, str) else payload.decode())

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", keep)

    tab.page.on("websocket", watch)
    tab.page.reload()
    for _ in range(400):
        if any('"type":"next"' in frame.replace(" ", "") for frame in frames):
            return
        tab.page.wait_for_timeout(25)
    raise AssertionError(f"no live message on the profile: {frames}")


def test_a_visitor_signs_up_follows_live_unfollows_and_signs_out(
    front: Front, browser: Browser
) -> None:
    email = address("visitor")
    seed = profile_url(front, "Kaiyue Lu")
    with opened(browser, front) as visitor, opened(browser, front) as onlooker:
        page = visitor.page
        sign_up_and_confirm(page, front, email)

        # Following while signed out asks to sign in first, then comes back to the profile.
        page.goto(seed)
        page.get_by_role("button", name="Follow researcher").click()
        expect(page).to_have_url(
            f"{front.base}/sign-in?next=" + quote(seed[len(front.base) :], safe="")
        )
        sign_in(page, email)
        expect(page).to_have_url(seed)

        onlooker.page.goto(seed)
        live_ready(onlooker)
        followers = onlooker.page.locator('[data-count="followers"]')
        expect(followers).to_have_text("0")

        page.get_by_role("button", name="Follow researcher").click()
        expect(page.get_by_role("button", name="Unfollow researcher")).to_be_visible()
        expect(followers).to_have_text("1", timeout=LIVE_MS)
        expect(onlooker.page.locator('[data-count="follow-button"]')).to_have_text("1")
        expect(page.locator('[data-count="followers"]')).to_have_text("1", timeout=LIVE_MS)

        page.get_by_role("button", name="Unfollow researcher").click()
        expect(page.get_by_role("button", name="Follow researcher")).to_be_visible()
        expect(followers).to_have_text("0", timeout=LIVE_MS)

        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#account").get_by_role("link", name="Sign in")).to_be_visible()
        expect(page.locator("#account")).not_to_contain_text(email)
        assert visitor.errors == [] and onlooker.errors == []
        assert visitor.refused == [] and onlooker.refused == []


def test_a_forgotten_password_is_reset_through_the_mailed_link(
    front: Front, browser: Browser
) -> None:
    email = address("forgetful")
    with opened(browser, front) as tab:
        page = tab.page
        sign_up_and_confirm(page, front, email)
        page.goto(f"{front.base}/sign-in")
        page.get_by_role("link", name="Forgot your password?").click()
        # Navigation stays in the page: until the reset form replaces it, "Email" is the
        # sign-in form's field (filled there, the email was lost under load).
        expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Mail me a link").click()
        expect(page.get_by_role("status")).to_contain_text("a reset link is on its way")
        page.goto(front.link_in(email, "Reset your BZPEER password", "/reset-password"))
        page.get_by_label("New password (at least 10 characters)").fill("a brand new secret")
        page.get_by_role("button", name="Set the password").click()
        expect(page.get_by_role("status")).to_contain_text("Your password is changed")

        # A sign-in link crafted to send the person elsewhere afterwards keeps them here.
        page.goto(f"{front.base}/sign-in?next=" + quote("https://evil.example/x", safe=""))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()  # the old password no longer works
        page.get_by_label("Password").fill("a brand new secret")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#account")).to_contain_text(email)
        expect(page).to_have_url(f"{front.base}/")


def test_claims_by_email_and_by_orcid_then_an_invitation_accepted(
    front: Front, browser: Browser
) -> None:
    mei_account = address("mei")
    arjun_account = address("arjun")
    mei = profile_url(front, "Mei Tanaka")
    arjun = profile_url(front, "Arjun Raghavan")
    _, arjun_pk = from_global_id(arjun.rsplit("/", 1)[1], "Researcher")
    with (
        opened(browser, front) as mei_tab,
        opened(browser, front) as arjun_tab,
        opened(browser, front) as onlooker,
    ):
        # Someone has Mei's profile open all along: her trust snapshot changes there live.
        onlooker.page.goto(mei)
        live_ready(onlooker)
        badges = onlooker.page.locator(".badges")
        expect(badges).to_contain_text("Unclaimed author")

        # Mei claims her record with her institutional address and the mailed link.
        page = mei_tab.page
        sign_up_and_confirm(page, front, mei_account)
        page.goto(f"{front.base}/sign-in?next=" + quote(mei[len(front.base) :], safe=""))
        sign_in(page, mei_account)
        institutional = f"mei-{uuid.uuid4().hex[:6]}@demo.bzpeer.test"
        page.get_by_label("Your institutional email").fill(institutional)
        page.get_by_role("button", name="Claim by institutional email").click()
        expect(page.get_by_role("status")).to_contain_text(f"We sent a link to {institutional}")
        page.goto(front.link_in(institutional, "Confirm that you are Mei Tanaka", "/verify-claim"))
        page.get_by_role("button", name="Verify the claim").click()
        expect(page.get_by_role("status")).to_contain_text("Claim verified")
        expect(badges).to_contain_text("Claimed author", timeout=LIVE_MS)
        expect(badges).not_to_contain_text("Unclaimed")
        page.get_by_role("link", name="Go to the profile").click()
        expect(page.locator("main")).to_contain_text("This is your record.")
        expect(page.locator(".badges")).to_contain_text("Claimed author", timeout=LIVE_MS)

        # Arjun claims his by signing in with his ORCID iD: the round trip ends on his profile.
        page = arjun_tab.page
        sign_up_and_confirm(page, front, arjun_account)
        page.goto(f"{front.base}/sign-in?next=" + quote(arjun[len(front.base) :], safe=""))
        sign_in(page, arjun_account)
        front.sql(f"UPDATE researchers SET orcid = '{ARJUN_ORCID}' WHERE id = {arjun_pk}")
        page.reload()
        front.orcid.signed_in = ARJUN_ORCID
        page.get_by_role("button", name="Claim with ORCID").click()
        expect(page).to_have_url(f"{arjun}?claim=verified")
        expect(page.get_by_role("status").first).to_contain_text(
            f"linked to your account {arjun_account}"
        )
        expect(page.locator(".badges")).to_contain_text("Claimed author", timeout=LIVE_MS)

        # Both claimed: Arjun invites Mei from her profile; she accepts on her invitations page.
        page.goto(mei)
        page.get_by_label("Message").fill("Shall we write the survey together?")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_role("status")).to_contain_text("Invitation sent.")
        front.mail.wait_for(mei_account, "invites you to collaborate")

        page = mei_tab.page
        page.get_by_role("navigation", name="Account").get_by_role(
            "link", name="Invitations"
        ).click()
        invitation = page.locator(".invitation").first
        expect(invitation).to_contain_text("Shall we write the survey together?")
        expect(invitation).to_contain_text("Arjun Raghavan")
        invitation.get_by_role("button", name="Accept").click()
        expect(invitation).to_contain_text("Accepted")
        assert mei_tab.errors == [] and arjun_tab.errors == []
