"""points lots (per-award expiry)

Revision ID: pt0002
Revises: pt0001
Create Date: 2026-12-04 15:30:00.000000

Every account with a positive balance gets one lot for it (no entry, never
expiring), so that the lots add up to the balances from the start.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'pt0002'
down_revision: Union[str, Sequence[str], None] = 'pt0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('points_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('earned_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['points_entries.id'], name=op.f('fk_points_lots_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_lots_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lots')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_points_lots_entry_id'))
    )
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.create_index('ix_points_lots_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_points_lots_user_id_expires_at', ['user_id', 'expires_at'], unique=False)

    op.execute(
        "INSERT INTO points_lots (user_id, entry_id, amount, remaining, earned_at, expires_at) "
        "SELECT user_id, NULL, balance, balance, updated_at, NULL FROM points_accounts WHERE balance > 0"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.drop_index('ix_points_lots_user_id_expires_at')
        batch_op.drop_index('ix_points_lots_expires_at')

    op.drop_table('points_lots')
