"""report aggregates and unique visitors (issue 19)

Revision ID: k0005
Revises: k0004
Create Date: 2026-12-04 16:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "k0005"
down_revision: Union[str, Sequence[str], None] = "k0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "visitor_days",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("visitor", sa.String(length=70), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "ref_id", "visitor", name=op.f("pk_visitor_days")),
    )
    op.create_table(
        "report_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("paid_orders", sa.Integer(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("pv", sa.Integer(), nullable=False),
        sa.Column("uv", sa.Integer(), nullable=False),
        sa.Column("carted", sa.Integer(), nullable=False),
        sa.Column("ordered", sa.Integer(), nullable=False),
        sa.Column("paid_buyers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "seller_id", name=op.f("pk_report_daily")),
    )
    op.create_table(
        "report_product_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("pv", sa.Integer(), nullable=False),
        sa.Column("uv", sa.Integer(), nullable=False),
        sa.Column("carts", sa.Integer(), nullable=False),
        sa.Column("carted", sa.Integer(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "product_id", name=op.f("pk_report_product_daily")),
    )
    with op.batch_alter_table("report_product_daily", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_product_daily_seller_id"), ["seller_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("report_product_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_product_daily_seller_id"))
    op.drop_table("report_product_daily")
    op.drop_table("report_daily")
    op.drop_table("visitor_days")
