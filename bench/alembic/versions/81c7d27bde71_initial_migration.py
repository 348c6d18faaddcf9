"""initial migration"""
import sqlalchemy as sa
from alembic import op

revision = "81c7d27bde71"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reciperun",
        sa.Column("recipe_id", sa.String(), nullable=False),
        sa.Column("bakery_id", sa.Integer(), nullable=False),
        sa.Column("feedstock_id", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("conclusion", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("reciperun")
