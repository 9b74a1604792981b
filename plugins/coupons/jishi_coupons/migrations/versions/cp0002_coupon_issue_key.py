"""coupons issued by other plugins: source and idempotency key

Revision ID: cp0002
Revises: cp0001
Create Date: 2026-12-04 15:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'cp0002'
down_revision: str | Sequence[str] | None = 'cp0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('coupon_user_coupons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), server_default='claim', nullable=False))
        batch_op.add_column(sa.Column('issue_key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_coupon_user_coupons_issue_key'), ['issue_key'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('coupon_user_coupons', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_coupon_user_coupons_issue_key'), type_='unique')
        batch_op.drop_column('issue_key')
        batch_op.drop_column('source')
