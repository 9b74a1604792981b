"""footprints tables

Revision ID: fp0001
Revises: 
Create Date: 2026-12-07 18:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'fp0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ('footprints',)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('footprints_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('viewed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_footprints_views_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_footprints_views_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_footprints_views')),
    sa.UniqueConstraint('user_id', 'product_id', name=op.f('uq_footprints_views_user_id'))
    )
    with op.batch_alter_table('footprints_views', schema=None) as batch_op:
        batch_op.create_index('ix_footprints_views_user_id_viewed_at', ['user_id', 'viewed_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_footprints_views_product_id'), ['product_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('footprints_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_footprints_views_product_id'))
        batch_op.drop_index('ix_footprints_views_user_id_viewed_at')

    op.drop_table('footprints_views')
