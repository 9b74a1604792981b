"""merchant stars from ratings: the platform's override, the computed average

Revision ID: ms0002
Revises: ms0001
Create Date: 2026-12-04 08:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'ms0002'
down_revision: Union[str, Sequence[str], None] = 'ms0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. The stars set by hand so far become the override."""
    with op.batch_alter_table('multistore_merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stars_override', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_x10', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_count', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE multistore_merchants SET stars_override = stars WHERE stars <> 5")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('multistore_merchants', schema=None) as batch_op:
        batch_op.drop_column('rating_count')
        batch_op.drop_column('rating_x10')
        batch_op.drop_column('stars_override')
