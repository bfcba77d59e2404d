"""The mails the service sends, as plain text."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import urlencode

from service.config import Settings
from service.mail.mailer import compose


def _link(settings: Settings, path: str, **query: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}?{urlencode(query)}"


def confirm_email(settings: Settings, to: str, token: str) -> EmailMessage:
    return compose(
        settings,
        to,
        "Confirm your BZPEER account",
        "Somebody signed up for BZPEER with this address just now.\n\n"
        "If it was you, confirm the address: "
        f"{_link(settings, '/confirm-email', token=token)}\n\n"
        f"Or use this confirmation code: {token}\n\n"
        f"It works once, within {settings.email_token_ttl_hours} hours, and sets the password "
        "chosen in that sign-up. If it was not you, ignore this mail: nobody can sign in "
        "with this address until it is confirmed.\n",
    )


def reset_password(settings: Settings, to: str, token: str) -> EmailMessage:
    return compose(
        settings,
        to,
        "Reset your BZPEER password",
        "Somebody asked to reset the password of the BZPEER account with this address.\n\n"
        f"If it was you, choose a new one: {_link(settings, '/reset-password', token=token)}\n\n"
        f"Or use this reset code: {token}\n\n"
        f"It works once, within {settings.password_reset_ttl_minutes} minutes, and signs out "
        "every session of the account. If it was not you, ignore this mail.\n",
    )


def already_registered(settings: Settings, to: str) -> EmailMessage:
    return compose(
        settings,
        to,
        "Someone tried to sign up with your address",
        "Somebody (perhaps you) tried to create a BZPEER account with this address, which "
        "already has one. If it was you, sign in instead (or reset your password from the "
        "sign-in page); otherwise ignore this mail.\n",
    )


def verify_claim(
    settings: Settings, to: str, researcher: str, claim_id: str, token: str
) -> EmailMessage:
    link = _link(settings, "/verify-claim", claim=claim_id, token=token)
    return compose(
        settings,
        to,
        f"Confirm that you are {researcher}",
        f"You asked to claim the BZPEER record of {researcher} with this address.\n\n"
        f"Confirm it: {link}\n\nOr use this verification code: {token}\n\n"
        f"It works once, within {settings.email_token_ttl_hours} hours. If you did not ask, "
        "ignore this mail.\n",
    )


def invitation_received(settings: Settings, to: str, sender: str, message: str) -> EmailMessage:
    return compose(
        settings,
        to,
        f"{sender} invites you to collaborate",
        f"{sender} sent you an invitation on BZPEER:\n\n{message}\n\n"
        f"Answer it: {settings.public_url.rstrip('/')}/invitations\n",
    )
