"""exact range UV (issue 19): visitor_days index (kind, ref_id, visitor, day), visitor_returns

Revision ID: k0008
Revises: k0006
Create Date: 2026-12-04 19:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "k0008"
down_revision: Union[str, Sequence[str], None] = "k0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("visitor_days", schema=None) as batch_op:
        batch_op.create_index("ix_visitor_days_key_visitor", ["kind", "ref_id", "visitor", "day"], unique=False)
    op.create_table(
        "visitor_returns",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("prev_day", sa.String(length=10), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref_id", "day", "prev_day"),
    )
    # The days already collected (window functions: PostgreSQL, SQLite >= 3.25).
    op.execute(
        """INSERT INTO visitor_returns (kind, ref_id, day, prev_day, visitors)
        SELECT kind, ref_id, day, COALESCE(prev, ''), COUNT(*) FROM (
            SELECT kind, ref_id, day, LAG(day) OVER (PARTITION BY kind, ref_id, visitor ORDER BY day) AS prev
            FROM visitor_days WHERE kind IN ('site', 'cart', 'seller', 'cart_seller')
        ) AS x GROUP BY kind, ref_id, day, COALESCE(prev, '')"""
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("visitor_returns")
    with op.batch_alter_table("visitor_days", schema=None) as batch_op:
        batch_op.drop_index("ix_visitor_days_key_visitor")
