"""drop the indexes a unique key already serves (issue 20): flashsale_skus.activity_id (served by uq_flashsale_skus_activity_id)

Each of these columns leads a unique key of its table, which PostgreSQL and
SQLite use for a lookup by that column alone; its own index only cost every
INSERT one more index write.

Revision ID: fs0003
Revises: fs0002
Create Date: 2026-12-07 02:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "fs0003"
down_revision: str | Sequence[str] | None = "fs0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_flashsale_skus_activity_id", table_name="flashsale_skus")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_flashsale_skus_activity_id", "flashsale_skus", ["activity_id"], unique=False)
