"""designer tables

Revision ID: dz0001
Revises: 
Create Date: 2026-12-04 15:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'dz0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ('designer',)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('design_pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=True),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('draft_version', sa.Integer(), nullable=False),
    sa.Column('published_revision_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_revision_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_design_pages')),
    sa.UniqueConstraint('slug', name=op.f('uq_design_pages_slug'))
    )
    with op.batch_alter_table('design_pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_design_pages_scheduled_at'), ['scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_design_pages_seller_id'), ['seller_id'], unique=False)

    op.create_table('design_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('blocks', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=20), nullable=False),
    sa.Column('source_number', sa.Integer(), nullable=True),
    sa.Column('publish_at', sa.DateTime(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_design_revisions_created_by_id_users')),
    sa.ForeignKeyConstraint(['page_id'], ['design_pages.id'], name=op.f('fk_design_revisions_page_id_design_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_design_revisions')),
    sa.UniqueConstraint('page_id', 'number', name='uq_design_revisions_page_number')
    )
    with op.batch_alter_table('design_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_design_revisions_page_id_id', ['page_id', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('design_revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_design_revisions_page_id_id')

    op.drop_table('design_revisions')
    with op.batch_alter_table('design_pages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_design_pages_seller_id'))
        batch_op.drop_index(batch_op.f('ix_design_pages_scheduled_at'))

    op.drop_table('design_pages')
