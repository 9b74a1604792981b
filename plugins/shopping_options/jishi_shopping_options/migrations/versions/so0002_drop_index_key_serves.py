"""drop the indexes a unique key already serves (issue 20): shopping_options_takes.order_id (served by uq_shopping_options_takes_order_id)

Each of these columns leads a unique key of its table, which PostgreSQL and
SQLite use for a lookup by that column alone; its own index only cost every
INSERT one more index write.

Revision ID: so0002
Revises: so0001
Create Date: 2026-12-07 02:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "so0002"
down_revision: str | Sequence[str] | None = "so0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_shopping_options_takes_order_id", table_name="shopping_options_takes")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_shopping_options_takes_order_id", "shopping_options_takes", ["order_id"], unique=False)
