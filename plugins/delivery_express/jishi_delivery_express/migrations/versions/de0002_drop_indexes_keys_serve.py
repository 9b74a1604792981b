"""drop the indexes a unique key already serves (issue 20): express_region_rules.template_id (served by uq_express_region_rules_template_id); express_seller_templates.seller_key (served by uq_express_seller_templates_seller_key)

Each of these columns leads a unique key of its table, which PostgreSQL and
SQLite use for a lookup by that column alone; its own index only cost every
INSERT one more index write.

Revision ID: de0002
Revises: de0001
Create Date: 2026-12-07 02:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "de0002"
down_revision: str | Sequence[str] | None = "de0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_express_region_rules_template_id", table_name="express_region_rules")
    op.drop_index("ix_express_seller_templates_seller_key", table_name="express_seller_templates")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_express_seller_templates_seller_key", "express_seller_templates", ["seller_key"], unique=False)
    op.create_index("ix_express_region_rules_template_id", "express_region_rules", ["template_id"], unique=False)
