"""drop the indexes a unique key already serves (issue 20): payment_orders.user_id (served by (user_id, idempotency_key)); cart_lines.user_id (served by (user_id, sku_id))

Each of these columns leads a unique key of its table, which PostgreSQL and
SQLite use for a lookup by that column alone; its own index only cost every
INSERT one more index write.

Revision ID: k0010
Revises: k0009
Create Date: 2026-12-07 02:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "k0010"
down_revision: str | Sequence[str] | None = "k0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_payment_orders_user_id", table_name="payment_orders")
    op.drop_index("ix_cart_lines_user_id", table_name="cart_lines")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_cart_lines_user_id", "cart_lines", ["user_id"], unique=False)
    op.create_index("ix_payment_orders_user_id", "payment_orders", ["user_id"], unique=False)
