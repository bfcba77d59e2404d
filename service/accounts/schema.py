from __future__ import annotations

import asyncio

import strawberry
from starlette.responses import Response

from service.accounts.cookies import clear_session_cookie, set_session_cookie
from service.accounts.service import accounts
from service.accounts.types import Account
from service.errors import Unauthenticated
from service.graphql.context import Info
from service.mail.messages import already_registered, confirm_email, reset_password


@strawberry.input
class SignUpInput:
    email: str
    password: str
    display_name: str


@strawberry.type
class SignUpPayload:
    email: str = strawberry.field(description="Where the confirmation link was mailed.")
    account: Account | None = strawberry.field(
        description="Always null: an account shows itself once its address is confirmed "
        "(`confirmEmail`). The answer is the same for an address already registered (whose "
        "owner gets a notice by mail instead), so sign-up does not reveal who is registered."
    )


@strawberry.input
class RequestPasswordResetInput:
    email: str


@strawberry.input
class ResetPasswordInput:
    token: str
    password: str


@strawberry.type
class PasswordResetPayload:
    ok: bool = strawberry.field(
        description="Always true for a well-formed request: whether the address has an "
        "account is not said (it gets the mail if it has)."
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
            message = already_registered(settings, result.email)
        else:
            message = confirm_email(settings, result.email, result.confirmation_token)
        mailer = context.services.mailer
        context.after_commit.append(lambda: mailer.send(message))
        return SignUpPayload(email=result.email, account=None)

    @strawberry.mutation(
        description="Confirm an email address with the token from the mail: the account takes "
        "the password of the sign-up that sent it, and every earlier session ends."
    )
    async def confirm_email(self, info: Info, input: ConfirmEmailInput) -> ConfirmEmailPayload:
        confirmed = await accounts.confirm_email(info.context.session, input.token)
        _close_sockets_after_commit(info, confirmed.ended_sessions)
        return ConfirmEmailPayload(account=Account.from_model(confirmed.account))

    @strawberry.mutation(
        description="Mail a password reset link to the address, if an account has it. The "
        "answer is the same either way."
    )
    async def request_password_reset(
        self, info: Info, input: RequestPasswordResetInput
    ) -> PasswordResetPayload:
        context = info.context
        settings = context.settings
        limiter = context.services.rate_limiter
        await limiter.hit(
            settings.rate_limit_password_reset_per_address, "reset-address", context.client_address
        )
        await limiter.hit(
            settings.rate_limit_password_reset_per_email, "reset-email", input.email.strip().lower()
        )
        reset = await accounts.request_password_reset(context.session, settings, input.email)
        if reset.token is not None:
            message = reset_password(settings, reset.email, reset.token)
            mailer = context.services.mailer
            context.after_commit.append(lambda: mailer.send(message))
        return PasswordResetPayload(ok=True)

    @strawberry.mutation(
        description="Choose a new password with the mailed reset token (once): every session "
        "of the account ends, and the address counts as confirmed."
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> PasswordResetPayload:
        context = info.context
        done = await accounts.reset_password(
            context.session, context.services.passwords, input.token, input.password
        )
        _close_sockets_after_commit(info, done.ended_sessions)
        return PasswordResetPayload(ok=True)

    @strawberry.mutation(description="Start a session; the token is shown once.")
    async def sign_in(self, info: Info, input: SignInInput) -> SignInPayload:
        context = info.context
        settings = context.settings
        limiter = context.services.rate_limiter
        email = input.email.strip().lower()
        # The pair first: a guesser exhausts their own bucket, and their refused attempts do
        # not count towards the address's ceiling, which the owner shares from elsewhere.
        await limiter.hit(
            settings.rate_limit_sign_in_per_email_and_address,
            "sign-in-pair",
            f"{email}|{context.client_address}",
        )
        await limiter.hit(
            settings.rate_limit_sign_in_per_address, "sign-in-address", context.client_address
        )
        await limiter.hit(settings.rate_limit_sign_in_per_email, "sign-in-email", email)
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
        _close_sockets_after_commit(info, ended)
        return SignOutPayload(ok=bool(ended))


def _close_sockets_after_commit(info: Info, ended: list[int]) -> None:
    """Every API process closes the WebSockets of these ended sessions (4403)."""
    if not ended:
        return
    publisher = info.context.services.publisher

    async def close_sockets() -> None:
        await asyncio.to_thread(publisher.end_sessions, ended)

    info.context.after_commit.append(close_sockets)
