"""beta one"""
from alembic import op
import sqlalchemy as sa

revision = "cccc00000001"
down_revision = 'aaaa00000002'
branch_labels = ('beta',)
depends_on = None


def upgrade():
    op.create_table("beta_one", sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name="beta_one_pkey"))


def downgrade():
    op.drop_table("beta_one")
