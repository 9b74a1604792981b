"""points sign-ins (签到): one row per buyer per shop day

Revision ID: pt0003
Revises: pt0001
Create Date: 2026-12-04 15:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'pt0003'
down_revision: Union[str, Sequence[str], None] = 'pt0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('points_signins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_signins_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_signins')),
    sa.UniqueConstraint('user_id', 'day', name='uq_points_signins_user_day')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('points_signins')
