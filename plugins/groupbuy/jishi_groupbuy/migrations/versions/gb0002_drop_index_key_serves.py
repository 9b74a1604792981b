"""drop the indexes a unique key already serves (issue 20): groupbuy_activity_skus.activity_id (served by uq_groupbuy_activity_skus_activity_id)

Each of these columns leads a unique key of its table, which PostgreSQL and
SQLite use for a lookup by that column alone; its own index only cost every
INSERT one more index write.

Revision ID: gb0002
Revises: gb0001
Create Date: 2026-12-07 02:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "gb0002"
down_revision: str | Sequence[str] | None = "gb0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_groupbuy_activity_skus_activity_id", table_name="groupbuy_activity_skus")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_groupbuy_activity_skus_activity_id", "groupbuy_activity_skus", ["activity_id"], unique=False)
