"""add dataset fields"""
import sqlalchemy as sa
from alembic import op

revision = "70bcddc9fffa"
down_revision = "b0ec74f6d899"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reciperun") as batch:
        batch.add_column(sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("dataset_type", sa.String(), nullable=True))
        batch.add_column(sa.Column("dataset_public_url", sa.String(), nullable=True))


def downgrade():
    with op.batch_alter_table("reciperun") as batch:
        batch.drop_column("dataset_public_url")
        batch.drop_column("dataset_type")
        batch.drop_column("is_test")
