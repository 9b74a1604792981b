"""drop the indexes a unique key already serves (issue 20): coupon_user_coupons.template_id (served by uq_coupon_user_coupons_seq); coupon_usages.user_coupon_id (served by uq_coupon_usages_order)

Each of these columns leads a unique key of its table, which PostgreSQL and
SQLite use for a lookup by that column alone; its own index only cost every
INSERT one more index write.

Revision ID: cp0003
Revises: cp0002
Create Date: 2026-12-07 02:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "cp0003"
down_revision: str | Sequence[str] | None = "cp0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_coupon_user_coupons_template_id", table_name="coupon_user_coupons")
    op.drop_index("ix_coupon_usages_user_coupon_id", table_name="coupon_usages")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_coupon_usages_user_coupon_id", "coupon_usages", ["user_coupon_id"], unique=False)
    op.create_index("ix_coupon_user_coupons_template_id", "coupon_user_coupons", ["template_id"], unique=False)
