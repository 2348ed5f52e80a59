"""call records: the Asterisk that handled the call (several Asterisk servers at once)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 21:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asterisk", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_column("asterisk")
