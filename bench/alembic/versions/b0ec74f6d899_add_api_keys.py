"""add api keys"""
import sqlalchemy as sa
from alembic import op

revision = "b0ec74f6d899"
down_revision = "6197f9c7aff6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "apikey",
        sa.Column("is_active", sa.Boolean(), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("encrypted_key", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("encrypted_key"),
    )


def downgrade():
    op.drop_table("apikey")
