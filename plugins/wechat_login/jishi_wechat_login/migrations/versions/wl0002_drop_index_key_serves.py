"""drop the indexes a unique key already serves (issue 20): wechat_identities.user_id (served by uq_wechat_identities_user_id)

Each of these columns leads a unique key of its table, which PostgreSQL and
SQLite use for a lookup by that column alone; its own index only cost every
INSERT one more index write.

Revision ID: wl0002
Revises: wl0001
Create Date: 2026-12-07 02:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "wl0002"
down_revision: str | Sequence[str] | None = "wl0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_wechat_identities_user_id", table_name="wechat_identities")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_wechat_identities_user_id", "wechat_identities", ["user_id"], unique=False)
