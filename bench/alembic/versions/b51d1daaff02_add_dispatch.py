"""add dispatch"""
import sqlalchemy as sa
from alembic import op

revision = "b51d1daaff02"
down_revision = "3b96e7fb9cbd"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dispatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipe_run_id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(), nullable=True),
        sa.Column("lease_expiries", sa.Integer(), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("job_name", sa.String(), nullable=True),
        sa.Column("job_id", sa.String(), nullable=True),
        sa.Column("job_deadline", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["recipe_run_id"], ["reciperun.id"], name="dispatch_recipe_run_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="dispatch_pkey"),
        sa.UniqueConstraint("recipe_run_id", name="dispatch_recipe_run_id_key"),
        sa.UniqueConstraint("claim_token", name="dispatch_claim_token_key"),
    )
    op.create_index(
        "ix_reciperun_bakery_id_status_started_at_id", "reciperun", ["bakery_id", "status", "started_at", "id"]
    )


def downgrade():
    op.drop_index("ix_reciperun_bakery_id_status_started_at_id", table_name="reciperun")
    op.drop_table("dispatch")
