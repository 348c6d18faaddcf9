"""create t1"""
from alembic import op
import sqlalchemy as sa

revision = "aaaa00000001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("t1", sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name="t1_pkey"))


def downgrade():
    op.drop_table("t1")
