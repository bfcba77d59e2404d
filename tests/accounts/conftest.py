from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.app import create_app
from tests.peers import MailTrap, OrcidServer, code_in, orcid_server, smtp_server
from tests.support import (
    LiveServer,
    contract,
    create_database,
    drop_database,
    free_socket,
    load_demo_into,
    serve,
    settings_for,
    writer_engine,
)

ARJUN_ORCID = "0000-0002-1825-0097"
VIEWER_ACTIONS = contract("viewer_actions.graphql")
GENEROUS = "1000/minute"


@dataclass
class Site:
    """The service with mail and ORCID sign-in wired to real servers on loopback."""

    server: LiveServer
    mail: MailTrap
    smtp: str
    """The mail server's URL (``smtp://127.0.0.1:PORT``), for other apps on this site."""
    orcid: OrcidServer
    url: str

    def op(self, operation: str, auth: str | None = None, **variables: Any) -> dict[str, Any]:
        """Run one operation of viewer_actions.graphql, signed in with ``auth`` if given."""
        return self.server.graphql(VIEWER_ACTIONS, variables, token=auth, operation=operation)

    def researcher_id(self, name: str) -> str:
        body = self.server.graphql(
            "query($q: String!) { researchers(search: $q) { edges { node { id } } } }",
            {"q": name},
        )
        return str(body["data"]["researchers"]["edges"][0]["node"]["id"])

    def account(self, email: str, password: str = "correct horse battery") -> str:
        """Sign up, confirm by the mailed code, sign in: a token."""
        body = self.op("SignUp", email=email, password=password, displayName=email.split("@")[0])
        assert "errors" not in body, body
        code = code_in(self.mail.wait_for(email, "Confirm your BZPEER account"))
        assert "errors" not in self.op("ConfirmEmail", token=code)
        signed_in = self.op("SignIn", email=email, password=password)
        assert "errors" not in signed_in, signed_in
        return str(signed_in["data"]["signIn"]["token"])

    def sql(self, statement: str) -> list[Any]:
        return run_sql(self.url, statement)


def run_sql(url: str, statement: str) -> list[Any]:
    """One statement in a transaction of its own; its rows, if any."""

    async def run() -> list[Any]:
        engine = writer_engine(settings_for(url))
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement))
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def site_settings(
    url: str, public_url: str, smtp: str, orcid: OrcidServer, data: Path, **overrides: Any
) -> Any:
    limits = {
        f"rate_limit_{name}": GENEROUS
        for name in (
            "sign_in_per_email",
            "sign_in_per_address",
            "sign_up_per_address",
            "follows_per_account",
            "invitations_per_account",
            "claims_per_account",
        )
    }
    limits.update(overrides)
    return settings_for(
        url,
        public_url=public_url,
        smtp_url=smtp,
        orcid_base_url=orcid.base_url,
        orcid_client_id=orcid.client_id,
        orcid_client_secret=orcid.client_secret,
        data_dir=data,
        argon2_memory_kib=19 * 1024,
        argon2_time_cost=2,
        **limits,
    )


@pytest.fixture(scope="module")
def site(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("site")
    url = create_database(backend, directory)
    load_demo_into(url)
    with smtp_server() as (mail, smtp), orcid_server() as orcid:
        sock = free_socket()
        host, port = sock.getsockname()
        settings = site_settings(url, f"http://{host}:{port}", smtp, orcid, directory / "data")
        with serve(create_app(settings), sock) as server:
            site = Site(server=server, mail=mail, smtp=smtp, orcid=orcid, url=url)
            site.sql(
                f"UPDATE researchers SET orcid = '{ARJUN_ORCID}' "
                "WHERE display_name = 'Arjun Raghavan'"
            )
            yield site
    drop_database(url)
