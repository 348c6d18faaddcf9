"""bakery names unique"""
from alembic import op

revision = "3b96e7fb9cbd"
down_revision = "0499cef6b57a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bakery") as batch:
        batch.create_unique_constraint("bakery_name_key", ["name"])


def downgrade():
    with op.batch_alter_table("bakery") as batch:
        batch.drop_constraint("bakery_name_key", type_="unique")
