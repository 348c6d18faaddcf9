"""bakery notes"""
from alembic import op
import sqlalchemy as sa

revision = "eeee00000001"
down_revision = '3b96e7fb9cbd'
branch_labels = ('notes',)
depends_on = None


def upgrade():
    op.add_column("bakery", sa.Column("notes", sa.String(), nullable=True))


def downgrade():
    with op.batch_alter_table("bakery") as batch:
        batch.drop_column("notes")
