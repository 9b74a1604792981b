"""review pictures (K11): reviews.images, reviews.image_count

Revision ID: k0006
Revises: k0005
Create Date: 2026-12-04 15:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "k0006"
down_revision: Union[str, Sequence[str], None] = "k0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("images", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("image_count", sa.SmallInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("image_count")
        batch_op.drop_column("images")
