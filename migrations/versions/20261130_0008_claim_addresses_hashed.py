"""Institutional addresses of claims kept only as a digest, one verified record per address:
``claims.evidence_hash`` (SHA-256 of the normalised address, as
``service.claims.evidence.address_digest`` computes it) with a unique index over verified
claims; the plain addresses of existing email claims are replaced by their digest.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIGEST_PREFIX = "bzpeer-claim-address:"
"""Frozen here: the application's digest of the day this revision was written."""


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.add_column(sa.Column("evidence_hash", sa.String(64), nullable=True))
    claims = sa.table(
        "claims",
        sa.column("id", sa.BigInteger),
        sa.column("method", sa.String),
        sa.column("evidence", sa.String),
        sa.column("evidence_hash", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(claims.c.id, claims.c.evidence).where(
            claims.c.method == "INSTITUTIONAL_EMAIL", claims.c.evidence.is_not(None)
        )
    ).all()
    for claim_id, address in rows:
        digest = hashlib.sha256((DIGEST_PREFIX + address.strip().lower()).encode()).hexdigest()
        connection.execute(
            claims.update()
            .where(claims.c.id == claim_id)
            .values(evidence_hash=digest, evidence=None)
        )
    with op.batch_alter_table("claims") as batch_op:
        batch_op.create_index(
            "uq_claims_evidence_hash_verified",
            ["evidence_hash"],
            unique=True,
            postgresql_where=sa.text("status = 'VERIFIED'"),
            sqlite_where=sa.text("status = 'VERIFIED'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_index("uq_claims_evidence_hash_verified")
        batch_op.drop_column("evidence_hash")
