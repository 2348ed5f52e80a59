"""hotlines, the typo index of customers' numbers, hotline contacts; customer identity
on shipments, the model on orders

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:10:44.212457
"""

import sqlalchemy as sa
from alembic import op

import masking.storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("did", sa.String(length=20), nullable=False),
        sa.Column("brand", sa.String(length=40), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("support_email", sa.String(length=200), nullable=False),
        sa.Column("on_failure", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", masking.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_hotlines_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotlines")),
        sa.UniqueConstraint("did", name=op.f("uq_hotlines_did")),
    )
    with op.batch_alter_table("hotlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hotlines_site_id"), ["site_id"], unique=False)

    op.create_table(
        "phone_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_phone_keys_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "shipment_id", name=op.f("pk_phone_keys")),
    )
    with op.batch_alter_table("phone_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_phone_keys_shipment_id"), ["shipment_id"], unique=False
        )

    op.create_table(
        "hotline_contacts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("hotline_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=True),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("caller_number", sa.String(length=20), nullable=False),
        sa.Column("match_type", sa.String(length=10), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", masking.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("verified", sa.JSON(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column(
            "identified_at", masking.storage.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("voice_mismatch", sa.Boolean(), nullable=False),
        sa.Column("created_at", masking.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff.id"], name=op.f("fk_hotline_contacts_agent_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call_records.id"], name=op.f("fk_hotline_contacts_call_id_call_records")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_hotline_contacts_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["hotline_id"], ["hotlines.id"], name=op.f("fk_hotline_contacts_hotline_id_hotlines")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_hotline_contacts_shipment_id_shipments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_contacts")),
        sa.UniqueConstraint("case_id", name=op.f("uq_hotline_contacts_case_id")),
    )
    with op.batch_alter_table("hotline_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hotline_contacts_code"), ["code"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("shipment_id", existing_type=sa.INTEGER(), nullable=True)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("model", sa.String(length=120), nullable=False, server_default="")
        )

    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("customer_city", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("customer_address", sa.String(length=300), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_column("customer_address")
        batch_op.drop_column("customer_city")
        batch_op.drop_column("customer_name")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("model")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("shipment_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("hotline_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hotline_contacts_code"))

    op.drop_table("hotline_contacts")
    with op.batch_alter_table("phone_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_keys_shipment_id"))

    op.drop_table("phone_keys")
    with op.batch_alter_table("hotlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hotlines_site_id"))

    op.drop_table("hotlines")
