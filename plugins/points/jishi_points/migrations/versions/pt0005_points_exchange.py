"""points exchange (积分商城): items, per-buyer usage, redemptions

Revision ID: pt0005
Revises: pt0001
Create Date: 2026-12-04 15:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'pt0005'
down_revision: Union[str, Sequence[str], None] = 'pt0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('points_exchange_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('coupon_template_id', sa.Integer(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('cash', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), nullable=False),
    sa.Column('per_user_limit', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=True),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('sold >= 0 AND sold <= stock', name=op.f('ck_points_exchange_items_sold')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_points_exchange_items_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_points_exchange_items_sku_id_skus'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_exchange_items'))
    )
    with op.batch_alter_table('points_exchange_items', schema=None) as batch_op:
        batch_op.create_index('ix_points_exchange_items_listing', ['enabled', 'sort', 'id'], unique=False)

    op.create_table('points_exchange_usage',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('bought', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['points_exchange_items.id'], name=op.f('fk_points_exchange_usage_item_id_points_exchange_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_exchange_usage_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'user_id', name=op.f('pk_points_exchange_usage'))
    )
    op.create_table('points_exchange_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('cash', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('coupon_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=72), nullable=True),
    sa.Column('points_returned', sa.Integer(), nullable=False),
    sa.Column('units_released', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('points_returned >= 0 AND points_returned <= points', name=op.f('ck_points_exchange_redemptions_returned')),
    sa.CheckConstraint('units_released >= 0 AND units_released <= quantity', name=op.f('ck_points_exchange_redemptions_released')),
    sa.ForeignKeyConstraint(['item_id'], ['points_exchange_items.id'], name=op.f('fk_points_exchange_redemptions_item_id_points_exchange_items')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_points_exchange_redemptions_order_id_orders')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_exchange_redemptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_exchange_redemptions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_points_exchange_redemptions_order_id')),
    sa.UniqueConstraint('user_id', 'idempotency_key', name='uq_points_exchange_redemptions_key')
    )
    with op.batch_alter_table('points_exchange_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_exchange_redemptions_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_points_exchange_redemptions_user', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('points_exchange_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_points_exchange_redemptions_user')
        batch_op.drop_index(batch_op.f('ix_points_exchange_redemptions_item_id'))

    op.drop_table('points_exchange_redemptions')
    op.drop_table('points_exchange_usage')
    with op.batch_alter_table('points_exchange_items', schema=None) as batch_op:
        batch_op.drop_index('ix_points_exchange_items_listing')

    op.drop_table('points_exchange_items')
