"""What a claim keeps of its evidence: an institutional address only as a digest, enough to
tell that the address already verified a record, never to mail or show it. Pure."""

from __future__ import annotations

import hashlib

DIGEST_PREFIX = "bzpeer-claim-address:"


def address_digest(address: str) -> str:
    """SHA-256 of a normalised address (``normalize_email``'s output), hex."""
    return hashlib.sha256((DIGEST_PREFIX + address).encode()).hexdigest()
