from __future__ import annotations

import asyncio

import strawberry
from starlette.responses import Response

from service.accounts.cookies import clear_session_cookie, set_session_cookie
from service.accounts.service import accounts
from service.accounts.types import Account
from service.errors import Unauthenticated
from service.graphql.context import Info
from service.mail.messages import already_registered, confirm_email


@strawberry.input
class SignUpInput:
    email: str
    password: str
    display_name: str


@strawberry.type
class SignUpPayload:
    account: Account = strawberry.field(
        description="The new account. An address already registered gets an answer of the "
        "same shape (and a notice by mail), so sign-up does not reveal who is registered."
    )


@strawberry.input
class ConfirmEmailInput:
    token: str


@strawberry.type
class ConfirmEmailPayload:
    account: Account


@strawberry.input
class SignInInput:
    email: str
    password: str


@strawberry.type
class SignInPayload:
    token: str = strawberry.field(
        description="Send as `Authorization: Bearer <token>`, or as `token` in a WebSocket's "
        "`connection_init` payload. Over HTTP the answer also sets it as the HttpOnly session "
        "cookie, which browsers then send on their own."
    )
    account: Account


@strawberry.type
class SignOutPayload:
    ok: bool


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in account; null when not signed in.")
    def viewer(self, info: Info) -> Account | None:
        viewer = info.context.viewer
        return Account.from_model(viewer) if viewer else None


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create an account; a confirmation link is mailed.")
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpPayload:
        context = info.context
        settings = context.settings
        await context.services.rate_limiter.hit(
            settings.rate_limit_sign_up_per_address, "sign-up", context.client_address
        )
        result = await accounts.sign_up(
            context.session,
            context.services.passwords,
            settings,
            email=input.email,
            password=input.password,
            display_name=input.display_name,
        )
        if result.confirmation_token is None:
            message = already_registered(settings, result.account.email)
        else:
            message = confirm_email(settings, result.account.email, result.confirmation_token)
        mailer = context.services.mailer
        context.after_commit.append(lambda: mailer.send(message))
        return SignUpPayload(account=Account.from_model(result.account))

    @strawberry.mutation(description="Confirm an email address with the token from the mail.")
    async def confirm_email(self, info: Info, input: ConfirmEmailInput) -> ConfirmEmailPayload:
        account = await accounts.confirm_email(info.context.session, input.token)
        return ConfirmEmailPayload(account=Account.from_model(account))

    @strawberry.mutation(description="Start a session; the token is shown once.")
    async def sign_in(self, info: Info, input: SignInInput) -> SignInPayload:
        context = info.context
        settings = context.settings
        limiter = context.services.rate_limiter
        await limiter.hit(
            settings.rate_limit_sign_in_per_address, "sign-in-address", context.client_address
        )
        await limiter.hit(
            settings.rate_limit_sign_in_per_email, "sign-in-email", input.email.strip().lower()
        )
        result = await accounts.sign_in(
            context.session,
            context.services.passwords,
            settings,
            email=input.email,
            password=input.password,
        )
        if isinstance(context.response, Response):  # over HTTP; a WebSocket takes no cookies
            set_session_cookie(context.response, result.token, settings)
        return SignInPayload(token=result.token, account=Account.from_model(result.account))

    @strawberry.mutation(
        description="End this session: its token stops working at once and every WebSocket "
        "it opened, on any API process, is closed (4403)."
    )
    async def sign_out(self, info: Info) -> SignOutPayload:
        context = info.context
        if context.viewer is None or context.bearer_token is None:
            raise Unauthenticated("Sign in first.")
        ended = await accounts.sign_out(context.session, context.bearer_token)
        if isinstance(context.response, Response):
            clear_session_cookie(context.response, context.settings)
        publisher = context.services.publisher

        async def close_sockets() -> None:
            await asyncio.to_thread(publisher.end_sessions, ended)

        context.after_commit.append(close_sockets)
        return SignOutPayload(ok=bool(ended))
