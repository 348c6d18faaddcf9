"""alpha two"""
from alembic import op
import sqlalchemy as sa

revision = "bbbb00000002"
down_revision = 'bbbb00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("alpha_two", sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name="alpha_two_pkey"))


def downgrade():
    op.drop_table("alpha_two")
