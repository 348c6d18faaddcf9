"""alpha one"""
from alembic import op
import sqlalchemy as sa

revision = "bbbb00000001"
down_revision = 'aaaa00000002'
branch_labels = ('alpha',)
depends_on = None


def upgrade():
    op.create_table("alpha_one", sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name="alpha_one_pkey"))


def downgrade():
    op.drop_table("alpha_one")
