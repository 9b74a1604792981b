"""promotion slots (slots, entries, daily impressions and clicks) and platform templates

Revision ID: dz0002
Revises: dz0001
Create Date: 2026-12-04 16:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'dz0002'
down_revision: Union[str, Sequence[str], None] = 'dz0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('design_promo_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_design_promo_slots')),
    sa.UniqueConstraint('code', name=op.f('uq_design_promo_slots_code'))
    )
    op.create_table('design_promo_stats',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('ad_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('impressions', sa.Integer(), nullable=False),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'ad_id', name=op.f('pk_design_promo_stats'))
    )
    op.create_table('design_promo_ads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('image', sa.String(length=300), nullable=False),
    sa.Column('link', sa.JSON(), nullable=True),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(), nullable=True),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['slot_id'], ['design_promo_slots.id'], name=op.f('fk_design_promo_ads_slot_id_design_promo_slots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_design_promo_ads'))
    )
    with op.batch_alter_table('design_promo_ads', schema=None) as batch_op:
        batch_op.create_index('ix_design_promo_ads_slot_sort', ['slot_id', 'sort', 'id'], unique=False)

    op.create_table('design_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('blocks', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_design_templates_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_design_templates'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('design_templates')
    with op.batch_alter_table('design_promo_ads', schema=None) as batch_op:
        batch_op.drop_index('ix_design_promo_ads_slot_sort')

    op.drop_table('design_promo_ads')
    op.drop_table('design_promo_stats')
    op.drop_table('design_promo_slots')
