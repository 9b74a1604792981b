"""buyer analysis without grouping every buyer nor joining users (issue 19):
report_buyer_daily.prev_day, next_day, member_level_id; index on user_id

Revision ID: k0009
Revises: k0008
Create Date: 2026-12-04 22:20:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "k0009"
down_revision: Union[str, Sequence[str], None] = "k0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("report_buyer_daily", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("next_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("member_level_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_report_buyer_daily_user", ["user_id"], unique=False)
    # The rows already written: each buyer's previous and next row in the
    # scope (window functions and UPDATE ... FROM: PostgreSQL, SQLite >= 3.33)
    # and current member level.
    op.execute(
        """UPDATE report_buyer_daily SET prev_day = x.prev_day, next_day = x.next_day
        FROM (SELECT seller_id, day, user_id,
                LAG(day) OVER (PARTITION BY seller_id, user_id ORDER BY day) AS prev_day,
                LEAD(day) OVER (PARTITION BY seller_id, user_id ORDER BY day) AS next_day
              FROM report_buyer_daily) AS x
        WHERE x.seller_id = report_buyer_daily.seller_id AND x.day = report_buyer_daily.day
            AND x.user_id = report_buyer_daily.user_id"""
    )
    op.execute(
        """UPDATE report_buyer_daily SET member_level_id =
            (SELECT users.member_level_id FROM users WHERE users.id = report_buyer_daily.user_id)"""
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("report_buyer_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_report_buyer_daily_user")
        batch_op.drop_column("member_level_id")
        batch_op.drop_column("next_day")
        batch_op.drop_column("prev_day")
