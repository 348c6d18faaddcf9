"""feedstock spec index"""
from alembic import op
import sqlalchemy as sa

revision = "ffff00000001"
down_revision = '3b96e7fb9cbd'
branch_labels = ('lookup',)
depends_on = None


def upgrade():
    op.create_index("ix_feedstock_spec", "feedstock", ["spec"])


def downgrade():
    op.drop_index("ix_feedstock_spec", table_name="feedstock")
