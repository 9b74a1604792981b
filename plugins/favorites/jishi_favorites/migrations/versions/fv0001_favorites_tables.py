"""favorites tables

Revision ID: fv0001
Revises: 
Create Date: 2026-12-07 17:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'fv0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ('favorites',)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('favorites_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_favorites_products_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_favorites_products_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_favorites_products')),
    sa.UniqueConstraint('user_id', 'product_id', name=op.f('uq_favorites_products_user_id'))
    )
    with op.batch_alter_table('favorites_products', schema=None) as batch_op:
        batch_op.create_index('ix_favorites_products_user_id_id', ['user_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_favorites_products_product_id'), ['product_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('favorites_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_favorites_products_product_id'))
        batch_op.drop_index('ix_favorites_products_user_id_id')

    op.drop_table('favorites_products')
