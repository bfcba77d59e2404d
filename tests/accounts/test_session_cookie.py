"""Sign-in sets the HttpOnly session cookie browsers authenticate with (HTTP and WebSocket);
sign-out clears it and the token dies."""

from __future__ import annotations

from service.accounts.cookies import SESSION_COOKIE
from tests.accounts.conftest import VIEWER_ACTIONS, Site
from tests.support import http_client


def test_sign_in_sets_the_cookie_and_sign_out_clears_it(site: Site) -> None:
    email = "cookie-jar@example.org"
    site.account(email)
    with http_client(base_url=site.server.base_url) as browser:
        signed_in = browser.post(
            "/graphql",
            json={
                "query": VIEWER_ACTIONS,
                "operationName": "SignIn",
                "variables": {"email": email, "password": "correct horse battery"},
            },
        )
        assert "errors" not in signed_in.json()
        set_cookie = signed_in.headers["set-cookie"]
        assert set_cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in set_cookie
        assert "SameSite=lax" in set_cookie
        assert "Max-Age=2592000" in set_cookie  # session_ttl_days = 30
        assert "Secure" not in set_cookie  # served over http here
        token = signed_in.json()["data"]["signIn"]["token"]
        assert browser.cookies[SESSION_COOKIE] == token

        viewer = browser.post("/graphql", json={"query": "{ viewer { email } }"}).json()
        assert viewer == {"data": {"viewer": {"email": email}}}

        signed_out = browser.post("/graphql", json={"query": "mutation { signOut { ok } }"})
        assert signed_out.json() == {"data": {"signOut": {"ok": True}}}
        assert f'{SESSION_COOKIE}="";' in signed_out.headers["set-cookie"]
        assert SESSION_COOKIE not in browser.cookies

    body = site.server.graphql("{ viewer { email } }", token=token)
    assert body == {"data": {"viewer": None}}
