"""add github app records"""
import sqlalchemy as sa
from alembic import op

revision = "a453b710a63a"
down_revision = "b51d1daaff02"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "github_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=True),
        sa.Column("payload", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="github_delivery_pkey"),
        sa.UniqueConstraint("delivery_id", name="github_delivery_delivery_id_key"),
    )
    op.create_table(
        "github_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipe_run_id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("pull_request", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.BigInteger(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["recipe_run_id"], ["reciperun.id"], name="github_report_recipe_run_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="github_report_pkey"),
        sa.UniqueConstraint("recipe_run_id", name="github_report_recipe_run_id_key"),
    )


def downgrade():
    op.drop_table("github_report")
    op.drop_table("github_delivery")
