"""points member growth levels

Revision ID: pt0004
Revises: pt0001
Create Date: 2026-12-04 15:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'pt0004'
down_revision: Union[str, Sequence[str], None] = 'pt0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('points_levels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_level_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('discount_bp', sa.Integer(), nullable=False),
    sa.Column('member_price', sa.Boolean(), nullable=False),
    sa.Column('points_percent', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_level_id'], ['member_levels.id'], name=op.f('fk_points_levels_member_level_id_member_levels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_levels')),
    sa.UniqueConstraint('member_level_id', name=op.f('uq_points_levels_member_level_id')),
    sa.UniqueConstraint('name', name=op.f('uq_points_levels_name')),
    sa.UniqueConstraint('threshold', name=op.f('uq_points_levels_threshold'))
    )
    op.create_table('points_growth_accounts',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('growth', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_growth_accounts_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_points_growth_accounts'))
    )
    op.create_table('points_growth',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('source_kind', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_growth_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_growth')),
    sa.UniqueConstraint('kind', 'source_kind', 'source_id', name='uq_points_growth_source')
    )
    with op.batch_alter_table('points_growth', schema=None) as batch_op:
        batch_op.create_index('ix_points_growth_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('points_growth_orders',
    sa.Column('order_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('base', sa.Integer(), nullable=False),
    sa.Column('growth', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_points_growth_orders_order_id_orders')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_growth_orders_user_id_users')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_points_growth_orders'))
    )
    with op.batch_alter_table('points_growth_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_growth_orders_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('points_growth_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_growth_orders_user_id'))

    op.drop_table('points_growth_orders')
    with op.batch_alter_table('points_growth', schema=None) as batch_op:
        batch_op.drop_index('ix_points_growth_user_id_id')

    op.drop_table('points_growth')
    op.drop_table('points_growth_accounts')
    op.drop_table('points_levels')
