"""promotion entries: member-level targets and soft delete; templates: merchant-category scope

Revision ID: dz0003
Revises: dz0002
Create Date: 2026-12-04 18:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'dz0003'
down_revision: Union[str, Sequence[str], None] = 'dz0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('design_promo_ads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('design_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('categories', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('design_templates', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('categories')
    with op.batch_alter_table('design_promo_ads', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('level_ids')
