"""beta two"""
from alembic import op
import sqlalchemy as sa

revision = "cccc00000002"
down_revision = 'cccc00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("beta_two", sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name="beta_two_pkey"))


def downgrade():
    op.drop_table("beta_two")
