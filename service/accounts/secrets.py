"""Opaque tokens and password hashing. Tokens are random and stored only as SHA-256 digests;
passwords are Argon2id, hashed and verified in a worker thread (they cost tens of ms of CPU)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.config import Settings

TOKEN_BYTES = 32


def new_token(prefix: str = "") -> tuple[str, str]:
    """A fresh random token and the digest to store: ``(plain, sha256 hex)``."""
    plain = prefix + secrets.token_urlsafe(TOKEN_BYTES)
    return plain, token_digest(plain)


def token_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    new_hash: str | None = None
    """Set when the stored hash used older parameters and should be replaced."""


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        # Verified against when an email is unknown, so that the answer takes as long.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        try:
            self.hasher.verify(stored_hash or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return PasswordCheck(ok=False)
        if stored_hash is None:
            return PasswordCheck(ok=False)
        if self.hasher.check_needs_rehash(stored_hash):
            return PasswordCheck(ok=True, new_hash=self.hasher.hash(password))
        return PasswordCheck(ok=True)
