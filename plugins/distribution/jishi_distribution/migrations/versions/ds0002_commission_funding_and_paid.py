"""distribution commissions: funded_by, paid_amount

Revision ID: ds0002
Revises: ds0001
Create Date: 2026-12-04 16:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ds0002"
down_revision: str | Sequence[str] | None = "ds0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("distribution_commissions") as batch:
        batch.add_column(sa.Column("funded_by", sa.String(length=20), server_default="platform", nullable=False))
        batch.add_column(sa.Column("paid_amount", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("distribution_commissions") as batch:
        batch.drop_column("paid_amount")
        batch.drop_column("funded_by")
