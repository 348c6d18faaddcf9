"""add bakery and feedstock"""
import sqlalchemy as sa
from alembic import op

revision = "6197f9c7aff6"
down_revision = "81c7d27bde71"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bakery",
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "feedstock",
        sa.Column("spec", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reciperun") as batch:
        batch.create_foreign_key("reciperun_bakery_id_fkey", "bakery", ["bakery_id"], ["id"])
        batch.create_foreign_key("reciperun_feedstock_id_fkey", "feedstock", ["feedstock_id"], ["id"])


def downgrade():
    with op.batch_alter_table("reciperun") as batch:
        batch.drop_constraint("reciperun_bakery_id_fkey", type_="foreignkey")
        batch.drop_constraint("reciperun_feedstock_id_fkey", type_="foreignkey")
    op.drop_table("feedstock")
    op.drop_table("bakery")
