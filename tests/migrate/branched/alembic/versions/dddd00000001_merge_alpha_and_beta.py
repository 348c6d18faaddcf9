"""merge alpha and beta"""
from alembic import op
import sqlalchemy as sa

revision = "dddd00000001"
down_revision = ['bbbb00000002', 'cccc00000002']
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
