"""default reason codes

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from masking.reasons import DEFAULT_REASONS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

reasons = sa.table(
    "reasons",
    sa.column("code", sa.String),
    sa.column("title_ru", sa.String),
    sa.column("title_en", sa.String),
    sa.column("kind", sa.String),
    sa.column("active", sa.Boolean),
)


def upgrade() -> None:
    op.bulk_insert(
        reasons,
        [
            {"code": code, "title_ru": ru, "title_en": en, "kind": kind, "active": True}
            for code, ru, en, kind in DEFAULT_REASONS
        ],
    )


def downgrade() -> None:
    op.execute(reasons.delete().where(reasons.c.code.in_([r[0] for r in DEFAULT_REASONS])))
