"""per-buyer daily report aggregate (issue 19): report_buyer_daily

Revision ID: k0007
Revises: k0006
Create Date: 2026-12-04 18:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "k0007"
down_revision: Union[str, Sequence[str], None] = "k0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "report_buyer_daily",
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paid_orders", sa.Integer(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "day", "user_id", name=op.f("pk_report_buyer_daily")),
    )
    op.create_index("ix_report_buyer_daily_day", "report_buyer_daily", ["day"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_report_buyer_daily_day", table_name="report_buyer_daily")
    op.drop_table("report_buyer_daily")
