"""payment gateways: money events and gateway refunds

Revision ID: k0003
Revises: b25cf8dd1d8b
Create Date: 2026-12-04 12:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "k0003"
down_revision: Union[str, Sequence[str], None] = "b25cf8dd1d8b"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("payment_orders") as batch_op:
        batch_op.add_column(sa.Column("trade_seq", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("gateway", sa.String(length=30), nullable=False),
        sa.Column("trade_number", sa.String(length=40), nullable=False),
        sa.Column("gateway_trade_no", sa.String(length=64), nullable=False),
        sa.Column("trade_amount", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("gateway_refund_no", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("tried_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["payment_id"], ["payment_orders.id"], name=op.f("fk_payment_refunds_payment_id_payment_orders")),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"], name=op.f("fk_payment_refunds_refund_id_refunds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint("number", name=op.f("uq_payment_refunds_number")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_payment_refunds_refund_id")),
    )
    op.create_index(op.f("ix_payment_refunds_payment_id"), "payment_refunds", ["payment_id"])
    op.create_index(op.f("ix_payment_refunds_status"), "payment_refunds", ["status"])
    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payment_orders.id"], name=op.f("fk_payment_events_payment_id_payment_orders")),
        sa.ForeignKeyConstraint(["refund_id"], ["payment_refunds.id"], name=op.f("fk_payment_events_refund_id_payment_refunds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_payment_events_dedupe_key")),
    )
    op.create_index("ix_payment_events_payment_kind", "payment_events", ["payment_id", "kind"])
    op.create_index(op.f("ix_payment_events_refund_id"), "payment_events", ["refund_id"])
    op.create_table(
        "sandbox_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("trade_no", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("receiver", sa.String(length=120), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_operations")),
        sa.UniqueConstraint("number", name=op.f("uq_sandbox_operations_number")),
    )
    op.create_index(op.f("ix_sandbox_operations_trade_no"), "sandbox_operations", ["trade_no"])
    op.create_table(
        "bill_differences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=30), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("problem", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("ours", sa.Integer(), nullable=True),
        sa.Column("theirs", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_differences")),
    )
    op.create_index("ix_bill_differences_gateway_day", "bill_differences", ["gateway", "day"])


def downgrade() -> None:
    op.drop_index("ix_bill_differences_gateway_day", table_name="bill_differences")
    op.drop_table("bill_differences")
    op.drop_index(op.f("ix_sandbox_operations_trade_no"), table_name="sandbox_operations")
    op.drop_table("sandbox_operations")
    op.drop_index(op.f("ix_payment_events_refund_id"), table_name="payment_events")
    op.drop_index("ix_payment_events_payment_kind", table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_index(op.f("ix_payment_refunds_status"), table_name="payment_refunds")
    op.drop_index(op.f("ix_payment_refunds_payment_id"), table_name="payment_refunds")
    op.drop_table("payment_refunds")
    with op.batch_alter_table("payment_orders") as batch_op:
        batch_op.drop_column("trade_seq")
