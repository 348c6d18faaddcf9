"""create t2"""
from alembic import op
import sqlalchemy as sa

revision = "aaaa00000002"
down_revision = 'aaaa00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("t2", sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name="t2_pkey"))


def downgrade():
    op.drop_table("t2")
