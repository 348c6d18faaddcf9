"""remove api keys"""
import sqlalchemy as sa
from alembic import op

revision = "0499cef6b57a"
down_revision = "70bcddc9fffa"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("apikey")
    with op.batch_alter_table("reciperun") as batch:
        batch.alter_column("status", existing_type=sa.String(), nullable=False)


def downgrade():
    with op.batch_alter_table("reciperun") as batch:
        batch.alter_column("status", existing_type=sa.String(), nullable=True)
    op.create_table(
        "apikey",
        sa.Column("is_active", sa.Boolean(), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("encrypted_key", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("encrypted_key"),
    )
