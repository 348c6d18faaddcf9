"""merge notes and lookup"""
from alembic import op
import sqlalchemy as sa

revision = "9999aaaa0001"
down_revision = ['eeee00000001', 'ffff00000001']
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
